#if os(Linux) && canImport(Glibc)
import CEpoll
import Glibc

/// The calls whose spelling or flags differ between C libraries, for Glibc on Linux.
/// Each returns the C result; `Socket` turns failures into `SocketError`.
extension Socket {
    /// `send` flags: a closed peer is an `EPIPE` error, never a SIGPIPE.
    static let sendFlags = Int32(MSG_NOSIGNAL)

    /// A TCP socket that is non-blocking and close-on-exec from the start.
    static func systemStreamSocket(family: Int32) -> Int32 {
        Glibc.socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    /// `accept4`: the new descriptor is non-blocking and close-on-exec in the same call.
    static func systemAccept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        CEpoll.accept4(fd, address, length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
    }

    /// Nothing to set on a new or accepted socket: `socket` and `accept4` took the flags,
    /// and `sendFlags` answers SIGPIPE.
    static func systemConfigure(_ fd: Int32) -> Int32 { 0 }

    static func systemBind(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Glibc.bind(fd, address, length)
    }

    static func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 {
        Glibc.listen(fd, backlog)
    }

    static func systemShutdownWrite(_ fd: Int32) -> Int32 {
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    static func systemClose(_ fd: Int32) -> Int32 {
        Glibc.close(fd)
    }

    static let streamType = Int32(SOCK_STREAM.rawValue)
    static let tcpProtocol = Int32(IPPROTO_TCP)

    /// SIGPIPE ignored process-wide as well: `MSG_NOSIGNAL` covers `send`, this covers
    /// any other write to a closed socket.
    static func systemIgnoreBrokenPipe() -> Bool {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        return sigemptyset(&action.sa_mask) == 0 && sigaction(SIGPIPE, &action, nil) == 0
    }
}
#endif
