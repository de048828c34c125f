import Dispatch

/// The event core behind the connection driver and the server: one serial context that
/// watches descriptors, calls their `EventHandler`s when they are ready and on a periodic
/// tick, and runs tasks handed to it by other threads.
///
/// Two backends: `DispatchEventQueue` (Dispatch read/write sources on a serial queue; every
/// platform, the default) and `EpollEventQueue` (a thread in `epoll_wait`; Linux). The
/// server runs one queue per core and spreads connections over them. A failure inside a
/// queue that belongs to no one call (waiting for events, closing a forgotten descriptor)
/// is passed to the `onFailure` callback the queue was made with.
protocol EventQueue: AnyObject, Sendable {
    /// Scratch space for reads, for handlers during a call from this queue only.
    var readBuffer: UnsafeMutableRawBufferPointer { get }

    /// True on this queue's context.
    var isCurrent: Bool { get }

    /// Runs `task` on this queue's context, soon, after the tasks handed in before it.
    func execute(_ task: @escaping @Sendable () -> Void)

    /// Starts watching `socket` for `interest`; `handler` is kept until the registration is
    /// cancelled and its descriptor closed. Call on this queue's context.
    func register(_ socket: Socket, interest: EventInterest, handler: EventHandler) throws(SocketError) -> EventRegistration

    /// The handlers of the descriptors watched now. Call on this queue's context.
    var handlers: [EventHandler] { get }

    /// Starts delivering events and ticks every `tickInterval` nanoseconds.
    func start(tickInterval: UInt64) throws(SocketError)

    /// Stops once the tasks handed in so far have run; waits for that. Not from this
    /// queue's context.
    func stop()
}

extension EventQueue {
    /// Runs `task` on this queue's context and waits for its result (never from that context).
    func sync<T>(_ task: @escaping @Sendable () -> T) -> T {
        precondition(!isCurrent, "sync from the queue's own context would deadlock")
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        execute {
            result = task()
            semaphore.signal()
        }
        semaphore.wait()
        return result!
    }
}
