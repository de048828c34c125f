#if os(Linux)
import CEpoll
import Glibc

/// An eventfd that wakes an epoll loop: other threads `signal`, the loop `drain`s.
struct EventFD: Sendable, OwnedDescriptor {
    let fd: Int32

    init() throws(SocketError) {
        fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw .fromErrno("eventfd") }
    }

    /// Makes the descriptor readable. A full counter (`EAGAIN`) is already readable.
    func signal() throws(SocketError) {
        var one: UInt64 = 1
        while Glibc.write(fd, &one, 8) < 0 {
            if errno == EINTR { continue }
            let error = SocketError.fromErrno("write(eventfd)")
            if error == .blocked { return }
            throw error
        }
    }

    /// Resets the counter. Nothing to read (`EAGAIN`: another drain got there first) is fine.
    func drain() throws(SocketError) {
        var value: UInt64 = 0
        while Glibc.read(fd, &value, 8) < 0 {
            if errno == EINTR { continue }
            let error = SocketError.fromErrno("read(eventfd)")
            if error == .blocked { return }
            throw error
        }
    }

    func close() throws(SocketError) {
        guard Glibc.close(fd) == 0 else { throw .fromErrno("close(eventfd)") }
    }
}
#endif
