/// One descriptor watched by an event queue. Call on the queue's context (the connection
/// driver only runs there).
protocol EventRegistration: AnyObject, Sendable {
    /// Reports the descriptor for `interest` from now on; `[]` stops reports without
    /// forgetting the descriptor (a paused connection cannot spin the queue on a hang-up).
    func setInterest(_ interest: EventInterest) throws(SocketError)
    /// Stops watching and closes the descriptor once no handler call for it can run any
    /// more. A failed close is reported through the queue's failure callback. Call once.
    func cancel()
}
