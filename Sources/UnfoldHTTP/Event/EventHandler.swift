/// What an event queue calls, always on its own context (serially with every other call
/// it makes and every task it runs): readiness of the watched descriptor and the clock.
///
/// A handler may receive a readiness call it no longer wants (an interest change can race
/// an event already taken off the queue); it checks its own state and ignores it.
protocol EventHandler: AnyObject, Sendable {
    /// The descriptor has bytes to read, end of stream, or an error to collect.
    func readable()
    /// The descriptor takes more bytes (or has an error to collect).
    func writable()
    /// The queue's periodic tick, with the monotonic time in nanoseconds.
    func tick(now: UInt64)
}
