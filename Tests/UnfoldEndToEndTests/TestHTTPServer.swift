import Foundation

/// A tiny HTTP/1.1 server on loopback for outbound-fetch tests: one request per connection,
/// answered by a closure, which may also choose to never answer.
final class TestHTTPServer: @unchecked Sendable {
    enum Reply {
        case respond(status: Int, headers: [(String, String)], body: [UInt8])
        case hang
    }

    let port: UInt16
    private let fd: Int32
    private let lock = NSLock()
    private var seen: [(path: String, headers: [String: String])] = []
    private var stopped = false
    /// Connections left unanswered on purpose (`.hang`); closed ones are never kept, since
    /// their descriptor numbers are reused by other sockets.
    private var hanging: [Int32] = []

    init(handler: @escaping @Sendable (_ path: String, _ headers: [String: String]) -> Reply) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 64)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: bound.sin_port)
        let listener = fd
        Thread.detachNewThread { [weak self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 && errno == EINTR { continue }
                guard client >= 0, let self else { return }
                Thread.detachNewThread { self.serve(client, handler) }
            }
        }
    }

    /// Requests received so far: path and lowercased headers.
    var requests: [(path: String, headers: [String: String])] { lock.withLock { seen } }

    private func serve(_ client: Int32, _ handler: (String, [String: String]) -> Reply) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !buffer.containsHeaderEnd {
            let n = recv(client, &chunk, chunk.count, 0)
            if n < 0 && errno == EINTR { continue }  // SIGCHLD from child processes of other tests
            if n <= 0 { close(client); return }
            buffer += chunk[0..<n]
        }
        let text = String(decoding: buffer, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let path = lines[0].split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        lock.withLock { seen.append((path, headers)) }
        switch handler(path, headers) {
        case .hang:
            lock.withLock { hanging.append(client) }
            return  // keep the socket open and say nothing
        case .respond(let status, let extra, let body):
            var head = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            for (name, value) in extra { head += "\(name): \(value)\r\n" }
            let bytes = Array((head + "\r\n").utf8) + body
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                sent += n
            }
            close(client)
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        lock.withLock { for c in hanging { shutdown(c, Int32(SHUT_RDWR)); close(c) } }
    }
}

private extension Array where Element == UInt8 {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
