/// What the server tells its owner about, for the log.
public enum HTTPServerEvent: Sendable {
    case listening(host: String, port: UInt16, backend: EventBackend)
    case connectionRejected(peer: String, open: Int)
    case connectionReport(peer: String, HTTPConnectionReport)
    /// A socket or event-queue call on one connection failed; the connection is closed.
    /// `error.isPeerGone` tells a client that vanished from a fault of the server.
    case connectionFailed(peer: String, SocketError)
    /// An event-queue call that belongs to no one request failed (waiting for events,
    /// waking a queue, closing a descriptor after the connection let go of it).
    case eventQueueFailed(SocketError)
    case workersSaturated(peer: String)
    case acceptFailed(SocketError)
    case shutdownStarted(open: Int)
    case shutdownFinished(forced: Int)
}
