#if canImport(Darwin)
import Darwin

/// The calls whose spelling or flags differ between C libraries, for Darwin (macOS, iOS).
/// Darwin has neither `SOCK_NONBLOCK`, `accept4` nor `MSG_NOSIGNAL`: flags are set with
/// `fcntl` after the fact, and `SO_NOSIGPIPE` on each socket stands for `MSG_NOSIGNAL`.
extension Socket {
    static let sendFlags: Int32 = 0

    /// A TCP socket; `systemConfigure` makes it non-blocking afterwards.
    static func systemStreamSocket(family: Int32) -> Int32 {
        Darwin.socket(family, SOCK_STREAM, 0)
    }

    static func systemAccept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        Darwin.accept(fd, address, length)
    }

    /// Non-blocking, close-on-exec and no SIGPIPE on a closed peer, for a new or accepted socket.
    static func systemConfigure(_ fd: Int32) -> Int32 {
        let flags = Darwin.fcntl(fd, F_GETFL)
        guard flags >= 0, Darwin.fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0,
              Darwin.fcntl(fd, F_SETFD, FD_CLOEXEC) == 0 else { return -1 }
        var one: Int32 = 1
        return Darwin.setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func systemBind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Darwin.bind(fd, address, length)
    }

    static func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 {
        Darwin.listen(fd, backlog)
    }

    static func systemShutdownWrite(_ fd: Int32) -> Int32 {
        Darwin.shutdown(fd, SHUT_WR)
    }

    static func systemClose(_ fd: Int32) -> Int32 {
        Darwin.close(fd)
    }

    static let streamType = SOCK_STREAM
    static let tcpProtocol = IPPROTO_TCP

    static func systemIgnoreBrokenPipe() -> Bool {
        var action = sigaction()
        action.__sigaction_u.__sa_handler = SIG_IGN
        return sigemptyset(&action.sa_mask) == 0 && sigaction(SIGPIPE, &action, nil) == 0
    }
}
#endif
