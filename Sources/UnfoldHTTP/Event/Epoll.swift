#if os(Linux)
import CEpoll
import Glibc

/// An epoll set, every call's failure thrown (`EINTR` retried, or reported as no events).
struct Epoll: Sendable, OwnedDescriptor {
    let fd: Int32

    init() throws(SocketError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw .fromErrno("epoll_create1") }
    }

    /// Level-triggered read interest, with a hang-up of the peer's sending side reported as readable.
    static let readable = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
    static let writable = EPOLLOUT.rawValue

    static func mask(_ interest: EventInterest) -> UInt32 {
        (interest.contains(.read) ? readable : 0) | (interest.contains(.write) ? writable : 0)
    }

    func add(_ descriptor: Int32, events: UInt32) throws(SocketError) {
        try control(EPOLL_CTL_ADD, descriptor, events, name: "epoll_ctl(ADD)")
    }

    func modify(_ descriptor: Int32, events: UInt32) throws(SocketError) {
        try control(EPOLL_CTL_MOD, descriptor, events, name: "epoll_ctl(MOD)")
    }

    func remove(_ descriptor: Int32) throws(SocketError) {
        try control(EPOLL_CTL_DEL, descriptor, 0, name: "epoll_ctl(DEL)")
    }

    private func control(_ operation: Int32, _ descriptor: Int32, _ events: UInt32, name: String) throws(SocketError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = descriptor
        guard epoll_ctl(fd, operation, descriptor, &event) == 0 else { throw .fromErrno(name) }
    }

    /// Waits up to `timeout` milliseconds (-1: no limit); returns how many events were
    /// stored, 0 when a signal interrupted the wait.
    func wait(_ events: UnsafeMutablePointer<epoll_event>, capacity: Int32, timeout: Int32) throws(SocketError) -> Int {
        let n = epoll_wait(fd, events, capacity, timeout)
        if n >= 0 { return Int(n) }
        if errno == EINTR { return 0 }
        throw .fromErrno("epoll_wait")
    }

    func close() throws(SocketError) {
        guard Glibc.close(fd) == 0 else { throw .fromErrno("close(epoll)") }
    }
}
#endif
