#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A non-blocking socket descriptor and the few calls the server makes on it.
/// `EINTR` is retried everywhere; `EAGAIN` surfaces as `SocketError.blocked`; every other
/// failure is thrown. Calls that differ between C libraries live in `Socket+Glibc.swift`
/// and `Socket+Darwin.swift`.
public struct Socket: Sendable, OwnedDescriptor {
    public let fd: Int32

    public init(fd: Int32) { self.fd = fd }

    /// A listening TCP socket on `host:port` (IPv4 or IPv6 literal, or `localhost`).
    public static func listen(host: String, port: UInt16, backlog: Int32 = 1024) throws(SocketError) -> Socket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw .failed(operation: "getaddrinfo(\(host))", errno: status == EAI_SYSTEM ? errno : EINVAL)
        }
        defer { freeaddrinfo(result) }

        let fd = systemStreamSocket(family: info.pointee.ai_family)
        guard fd >= 0 else { throw .fromErrno("socket") }
        let socket = Socket(fd: fd)
        do throws(SocketError) {
            guard systemConfigure(fd) == 0 else { throw .fromErrno("fcntl") }
            try socket.setOption(SOL_SOCKET, SO_REUSEADDR, 1, name: "setsockopt(SO_REUSEADDR)")
            guard systemBind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { throw .fromErrno("bind(\(host):\(port))") }
            guard systemListen(fd, backlog) == 0 else { throw .fromErrno("listen") }
        } catch {
            throw socket.close(after: error)
        }
        return socket
    }

    /// Ignores SIGPIPE for the process: a write to a closed peer must be an `EPIPE` error,
    /// never a fatal signal.
    public static func ignoreBrokenPipeSignal() throws(SocketError) {
        guard systemIgnoreBrokenPipe() else { throw .fromErrno("signal(SIGPIPE)") }
    }

    /// The port the socket is bound to (useful after binding port 0).
    public func localPort() throws(SocketError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let status = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard status == 0 else { throw .fromErrno("getsockname") }
        return Self.port(of: storage)
    }

    /// Accepts one connection, non-blocking and close-on-exec, with `TCP_NODELAY`.
    /// Returns nil when no connection is waiting.
    public func accept() throws(SocketError) -> (socket: Socket, address: String)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Self.systemAccept(fd, $0, &length) }
            }
            if client >= 0 {
                let socket = Socket(fd: client)
                do throws(SocketError) {
                    guard Self.systemConfigure(client) == 0 else { throw .fromErrno("fcntl") }
                    try socket.setOption(Self.tcpProtocol, TCP_NODELAY, 1, name: "setsockopt(TCP_NODELAY)")
                } catch {
                    throw socket.close(after: error)
                }
                return (socket, Self.address(of: storage))
            }
            if errno == EINTR || errno == ECONNABORTED { continue }
            let error = SocketError.fromErrno("accept")
            if error == .blocked { return nil }
            throw error
        }
    }

    /// Reads into `buffer`; returns 0 at end of stream.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .fromErrno("recv")
        }
    }

    /// Writes as much of `bytes` as the socket takes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let n = send(fd, bytes.baseAddress, bytes.count, Self.sendFlags)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .fromErrno("send")
        }
    }

    /// Half-closes: the peer reads end of stream; this side can still read.
    public func shutdownWrite() throws(SocketError) {
        guard Self.systemShutdownWrite(fd) == 0 else { throw .fromErrno("shutdown(SHUT_WR)") }
    }

    /// Closes the descriptor. Not retried on `EINTR`: on Linux the descriptor is released
    /// even then, and a retry could close a descriptor another thread was just given.
    public func close() throws(SocketError) {
        guard Self.systemClose(fd) == 0 else { throw .fromErrno("close") }
    }

    private func setOption(_ level: Int32, _ option: Int32, _ value: Int32, name: String) throws(SocketError) {
        var value = value
        guard setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else { throw .fromErrno(name) }
    }

    static func address(of storage: sockaddr_storage) -> String {
        var storage = storage
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let status = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        // A numeric host for an address the kernel gave us cannot fail; if it ever did,
        // the peer is logged as "" rather than the connection refused.
        guard status == 0 else { return "" }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func port(of storage: sockaddr_storage) -> UInt16 {
        var storage = storage
        let family = storage.ss_family
        return withUnsafePointer(to: &storage) { pointer in
            if family == sa_family_t(AF_INET6) {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
    }
}
