#if os(Linux)
/// One descriptor in an epoll set: `setInterest` is one `epoll_ctl` when the interest
/// changes; with no interest the descriptor leaves the set.
final class EpollRegistration: EventRegistration, @unchecked Sendable {
    let socket: Socket
    let handler: EventHandler
    private unowned let queue: EpollEventQueue
    /// The events the set holds for the descriptor now (0: not in the set).
    private var mask: UInt32 = 0
    private var cancelled = false

    init(socket: Socket, handler: EventHandler, queue: EpollEventQueue) {
        self.socket = socket
        self.handler = handler
        self.queue = queue
    }

    func setInterest(_ interest: EventInterest) throws(SocketError) {
        guard !cancelled else { return }
        let wanted = Epoll.mask(interest)
        guard wanted != mask else { return }
        if wanted == 0 {
            try queue.epoll.remove(socket.fd)
        } else if mask == 0 {
            try queue.epoll.add(socket.fd, events: wanted)
        } else {
            try queue.epoll.modify(socket.fd, events: wanted)
        }
        mask = wanted
    }

    func cancel() {
        guard !cancelled else { return }
        cancelled = true
        // Leave the set first: the close may come later (`deregister`).
        if mask != 0 {
            mask = 0
            do {
                try queue.epoll.remove(socket.fd)
            } catch {
                queue.onFailure(error)
            }
        }
        queue.deregister(self)
    }
}
#endif
