/// Which event core moves the bytes: configuration key `event_loop`.
public enum EventBackend: String, Sendable, CaseIterable {
    /// Dispatch read/write sources on one serial queue per core (every platform; the default).
    case dispatch
    #if os(Linux)
    /// One thread per core waiting in `epoll_wait` (Linux only).
    case epoll
    #endif

    /// Makes the server's queues, one per `count`.
    func makeQueues(count: Int, onFailure: @escaping @Sendable (SocketError) -> Void) throws(SocketError) -> [EventQueue] {
        switch self {
        case .dispatch:
            return (0..<count).map { DispatchEventQueue(index: $0, onFailure: onFailure) }
        #if os(Linux)
        case .epoll:
            var queues: [EventQueue] = []
            for index in 0..<count { queues.append(try EpollEventQueue(index: index, onFailure: onFailure)) }
            return queues
        #endif
        }
    }
}
