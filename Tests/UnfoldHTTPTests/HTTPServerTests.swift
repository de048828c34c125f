import Foundation
import XCTest
@testable import UnfoldHTTP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The server in process, on each event backend: requests beyond the waiting room get 503
/// `overloaded`, probes answer while every worker is busy, and the rest are answered once
/// the workers free up.
final class HTTPServerTests: XCTestCase {
    /// `/slow` waits for the gate (on a worker); `/healthz` is inline.
    struct GatedResponder: HTTPResponder {
        let gate: DispatchSemaphore
        let started: DispatchSemaphore

        func respond(to request: HTTPRequest) -> HTTPResponse {
            if request.path == "/slow" {
                started.signal()
                gate.wait()
            }
            return .json(.ok, Array(#"{"path":"\#(request.path)"}"#.utf8))
        }

        func runsInline(_ request: HTTPRequest) -> Bool { request.path == "/healthz" }
    }

    /// A blocking loopback client with a 10 s deadline on every call.
    final class Client {
        let fd: Int32

        init(port: UInt16) throws {
            #if canImport(Glibc)
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
            fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            XCTAssertEqual(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let status = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard status == 0 else { throw SocketError.failed(operation: "connect", errno: errno) }
        }

        deinit { close(fd) }

        func send(_ path: String) {
            let request = Array("GET \(path) HTTP/1.1\r\nHost: test\r\n\r\n".utf8)
            XCTAssertEqual(request.withUnsafeBytes { rawSend(fd, $0.baseAddress, $0.count) }, request.count)
        }

        /// The status code of the next response (its body is read by Content-Length).
        func status() -> (code: Int, body: String)? {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let text = String(decoding: bytes, as: UTF8.self)
                if let end = text.range(of: "\r\n\r\n") {
                    let head = text[..<end.lowerBound]
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    let body = text[end.upperBound...]
                    if body.utf8.count >= length, let code = Int(head.split(separator: " ")[1]) {
                        return (code, String(body))
                    }
                }
                let n = recv(fd, &chunk, chunk.count, 0)
                if n <= 0 { return nil }
                bytes += chunk[0..<n]
            }
        }
    }

    func testOverloadAnswers503AndProbesStayInline() throws {
        for backend in EventBackend.allCases {
            let gate = DispatchSemaphore(value: 0)
            let started = DispatchSemaphore(value: 0)
            let configuration = HTTPServerConfiguration(port: 0, eventBackend: backend, workerThreads: 1, maxQueuedRequests: 1)
            let lock = NSLock()
            nonisolated(unsafe) var saturated = 0
            let server = HTTPServer(configuration: configuration, responder: GatedResponder(gate: gate, started: started)) { event in
                if case .workersSaturated = event { lock.withLock { saturated += 1 } }
            }
            let port = try server.start()

            let running = try Client(port: port)
            running.send("/slow")
            XCTAssertEqual(started.wait(timeout: .now() + 10), .success, "\(backend): the first request never reached a worker")
            let waiting = try Client(port: port)
            waiting.send("/slow")
            // The waiting room holds one; wait until the server has taken it in.
            let deadline = Date().addingTimeInterval(10)
            while server.waitingRequests < 1 && Date() < deadline { usleep(1_000) }
            XCTAssertEqual(server.waitingRequests, 1, "\(backend)")

            let refused = try Client(port: port)
            refused.send("/slow")
            let answer = refused.status()
            XCTAssertEqual(answer?.code, 503, "\(backend)")
            XCTAssertTrue(answer?.body.contains("overloaded") ?? false, "\(backend): \(answer?.body ?? "no answer")")
            XCTAssertEqual(lock.withLock { saturated }, 1, "\(backend)")

            let probe = try Client(port: port)
            probe.send("/healthz")
            XCTAssertEqual(probe.status()?.code, 200, "\(backend): a probe waited for a worker")

            gate.signal()
            gate.signal()
            XCTAssertEqual(running.status()?.code, 200, "\(backend)")
            XCTAssertEqual(waiting.status()?.code, 200, "\(backend)")

            let stopped = DispatchSemaphore(value: 0)
            server.shutdown(grace: 1_000_000_000) { stopped.signal() }
            XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success, "\(backend): shutdown did not finish")
        }
    }
}

/// The C `send`, out of reach inside `Client` whose own `send` shadows it.
private func rawSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    send(fd, bytes, count, 0)
}
