/// Which event core moves the bytes: configuration key `event_loop`.
public enum EventBackend: String, Sendable, CaseIterable {
    /// Dispatch read/write sources on one serial queue per core (every platform; the default).
    case dispatch
    #if os(Linux)
    /// One thread per core waiting in `epoll_wait` (Linux only).
    case epoll
    #endif

    /// Queues per core when the configuration leaves the count to the backend. A Dispatch
    /// serial queue drains on whichever pool thread Dispatch hands it, and a queue whose
    /// thread waits to be scheduled holds back only its own connections: more, smaller
    /// queues keep more connections moving (4 per core beat 1 and 2 per core on
    /// `GET /healthz` by about 10–15%, and 8 per core was no better; docs/benchmarks.md).
    /// An epoll queue is a thread of its own: one per core.
    var queuesPerCore: Int {
        switch self {
        case .dispatch: return 4
        #if os(Linux)
        case .epoll: return 1
        #endif
        }
    }

    /// Makes the server's queues, `count` of them.
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
