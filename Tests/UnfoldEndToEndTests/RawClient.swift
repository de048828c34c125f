import Foundation

/// A response as read off the wire by the test client.
struct WireResponse {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] }

    var errorCode: String? { (json?["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
}

enum ClientError: Error { case connect(Int32), closed, timeout, malformed(String) }

/// A blocking TCP client over a raw socket, so tests control every byte and
/// every split, and can misbehave on purpose.
final class RawClient: @unchecked Sendable {  // one reader thread and at most one writer thread
    let fd: Int32
    private var buffer: [UInt8] = []

    /// `receiveBuffer` shrinks the kernel's receive buffer (set before connecting),
    /// so a client that does not read pushes back on the server sooner.
    init(port: UInt16, timeout: TimeInterval = 10, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            let code = errno
            close(fd)
            throw ClientError.connect(code)
        }
        setTimeout(timeout)
    }

    func setTimeout(_ seconds: TimeInterval) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - floor(seconds)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }  // signals (SIGCHLD) must not fail a test
            if n <= 0 { throw ClientError.closed }
            offset += n
        }
    }

    /// Sends what the socket takes without blocking; returns the byte count.
    func sendNonBlocking(_ bytes: [UInt8]) -> Int {
        // errno says why when the result is negative (EAGAIN: full; EPIPE/ECONNRESET: closed).
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        var n = recv(fd, &chunk, chunk.count, 0)
        while n < 0 && errno == EINTR { n = recv(fd, &chunk, chunk.count, 0) }
        if n == 0 { throw ClientError.closed }
        if n < 0 { throw (errno == EAGAIN || errno == EWOULDBLOCK) ? ClientError.timeout : ClientError.closed }
        buffer += chunk[0..<n]
    }

    /// Reads one response (a 1xx counts as one). `head: true` for a response to HEAD.
    func readResponse(head: Bool = false) throws -> WireResponse {
        var end: Int?
        while end == nil {
            if let range = findHeaderEnd() { end = range } else { try fill() }
        }
        let headText = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
            throw ClientError.malformed(headText)
        }
        let headers: [(String, String)] = lines.map { line in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = WireResponse(status: status, headers: headers, body: [])
        if head || status < 200 || status == 204 || status == 304 { return response }
        if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            while buffer.count < length { try fill() }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else {
            while true {
                do { try fill() } catch ClientError.closed { break }
            }
            response.body = buffer
            buffer = []
        }
        return response
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// True when the server closes the connection within `timeout` (EOF or reset),
    /// discarding anything it still sends.
    func waitForClose(timeout: TimeInterval) -> Bool {
        setTimeout(timeout)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do { try fill() } catch ClientError.closed { return true } catch { return false }
            buffer = []
        }
        return false
    }

    /// Closes with a reset (SO_LINGER 0) instead of a FIN.
    func reset() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    /// A complete GET with Host.
    static func get(_ path: String, _ extra: String = "") -> String {
        "GET \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n"
    }
}
