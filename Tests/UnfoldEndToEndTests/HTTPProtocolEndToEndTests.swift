import Foundation
import UnfoldData
import XCTest

/// HTTP/1.1 behaviour of the real server over real sockets.
final class HTTPProtocolEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var server: ServerProcess!

    override class func setUp() {
        server = try! ServerProcess([
            "--max-request-line-bytes", "1024", "--max-header-bytes", "2048", "--max-header-count", "20",
            "--max-body-bytes", "4096", "--gzip-min-bytes", "256",
        ])
    }

    override class func tearDown() {
        server.signal(SIGTERM)
        server.waitForExit(timeout: 10)
        server = nil
    }

    var port: UInt16 { Self.server.port }

    func client() throws -> RawClient { try RawClient(port: port) }

    func testHealthzAndReadyz() throws {
        let c = try client()
        try c.send(RawClient.get("/healthz"))
        let health = try c.readResponse()
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, #"{"status":"ok"}"#)
        XCTAssertEqual(health.header("Content-Type"), "application/json")
        XCTAssertNotNil(health.header("Date"))
        try c.send(RawClient.get("/readyz"))
        let ready = try c.readResponse()
        XCTAssertEqual(ready.status, 503)
        XCTAssertEqual(ready.errorCode, "not_ready")
    }

    func testKeepAliveIsTheHTTP11Default() throws {
        let c = try client()
        for _ in 0..<5 {
            try c.send(RawClient.get("/healthz"))
            let response = try c.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertNil(response.header("Connection"))
        }
    }

    func testConnectionCloseIsATokenList() throws {
        let c = try client()
        try c.send(RawClient.get("/healthz", "Connection: Upgrade, close\r\n"))
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(c.waitForClose(timeout: 3))
    }

    func testHTTP10ClosesUnlessKeepAlive() throws {
        let plain = try client()
        try plain.send("GET /healthz HTTP/1.0\r\n\r\n")
        XCTAssertEqual(try plain.readResponse().header("Connection"), "close")
        XCTAssertTrue(plain.waitForClose(timeout: 3))

        let keep = try client()
        for _ in 0..<3 {
            try keep.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let response = try keep.readResponse()
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.header("Connection"), "keep-alive")
        }
    }

    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let c = try client()
        try c.send(RawClient.get("/healthz") + RawClient.get("/readyz") + RawClient.get("/missing") + RawClient.get("/healthz"))
        XCTAssertEqual(try (0..<4).map { _ in try c.readResponse().status }, [200, 503, 404, 200])
    }

    /// A long burst of pipelined requests answered on the event loop: every one in order.
    func testLongPipelinedBurst() throws {
        let c = try client()
        let count = 5000
        let writer = Thread { try? c.send(String(repeating: RawClient.get("/healthz"), count: count)) }
        writer.start()
        var ok = 0
        for _ in 0..<count where try c.readResponse().status == 200 { ok += 1 }
        XCTAssertEqual(ok, count)
    }

    func testContentLengthBodyIsConsumed() throws {
        let c = try client()
        try c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nGET / HTTP/" + RawClient.get("/healthz"))
        XCTAssertEqual(try c.readResponse().status, 405)
        XCTAssertEqual(try c.readResponse().status, 200, "the body was not taken for a request")
    }

    func testChunkedBodyIsConsumed() throws {
        let c = try client()
        try c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nGET \r\n7\r\n/ HTTP/\r\n0\r\nTrailer-A: b\r\n\r\n" + RawClient.get("/healthz"))
        XCTAssertEqual(try c.readResponse().status, 405)
        XCTAssertEqual(try c.readResponse().status, 200)
    }

    func testExpectContinue() throws {
        let c = try client()
        try c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        XCTAssertEqual(try c.readResponse().status, 100)
        try c.send("hello")
        XCTAssertEqual(try c.readResponse().status, 405)

        let big = try client()
        try big.send("POST /healthz HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
        let response = try big.readResponse()
        XCTAssertEqual(response.status, 413, "the final status instead of 100")
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertTrue(big.waitForClose(timeout: 5))
    }

    /// RFC 9112 §6 request smuggling defences: 400 (or 501) and close.
    func testSmugglingDefences() throws {
        let cases: [(String, Int)] = [
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nhello", 400),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length : 0\r\n\r\n", 400),
            ("GET /healthz HTTP/1.1\nHost: t\n\n", 400),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n+4\r\nabcd\r\n0\r\n\r\n", 400),
            ("GET /healthz HTTP/1.1\r\nHost: t\r\nX: a\r\n  folded\r\n\r\n", 400),
        ]
        for (request, status) in cases {
            let c = try client()
            try c.send(request + RawClient.get("/healthz"))
            let response = try c.readResponse()
            XCTAssertEqual(response.status, status, request)
            XCTAssertEqual(response.header("Connection"), "close", request)
            XCTAssertNotNil(response.errorCode, request)
            XCTAssertTrue(c.waitForClose(timeout: 5), "connection closed after \(request)")
        }
    }

    func testLimitsFromConfiguration() throws {
        let cases: [(String, Int)] = [
            (RawClient.get("/" + String(repeating: "a", count: 1100)), 414),
            (RawClient.get("/healthz", "X-Big: " + String(repeating: "b", count: 2100) + "\r\n"), 431),
            (RawClient.get("/healthz", (0..<25).map { "X-\($0): v\r\n" }.joined()), 431),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + String(repeating: "x", count: 5000), 413),
            ("POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + String(repeating: "x", count: 4096) + "\r\n1\r\nx\r\n0\r\n\r\n", 413),
        ]
        for (request, status) in cases {
            let c = try client()
            try c.send(request)
            let response = try c.readResponse()
            XCTAssertEqual(response.status, status)
            XCTAssertEqual(response.header("Connection"), "close")
            XCTAssertTrue(c.waitForClose(timeout: 5))
        }
    }

    func testHeadHasLengthButNoBody() throws {
        let c = try client()
        try c.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + RawClient.get("/healthz"))
        let head = try c.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "15")
        let get = try c.readResponse()
        XCTAssertEqual(get.text, #"{"status":"ok"}"#, "no body bytes were sent after the HEAD response")
    }

    func testErrorModel() throws {
        let c = try client()
        try c.send("BREW /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        let brew = try c.readResponse()
        XCTAssertEqual(brew.status, 501)
        XCTAssertEqual(brew.errorCode, "not_implemented")

        try c.send("DELETE /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        let delete = try c.readResponse()
        XCTAssertEqual(delete.status, 405)
        XCTAssertEqual(delete.header("Allow"), "GET, HEAD")
        XCTAssertEqual(delete.errorCode, "method_not_allowed")

        try c.send(RawClient.get("/no/such/route"))
        let missing = try c.readResponse()
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.errorCode, "not_found")
        XCTAssertNotNil((missing.json?["error"] as? [String: Any])?["message"] as? String)
    }

    func testGzipWhenAcceptedAndLargeEnough() throws {
        let path = "/" + String(repeating: "compressible-", count: 40)
        let c = try client()
        try c.send(RawClient.get(path))
        let plain = try c.readResponse()
        XCTAssertNil(plain.header("Content-Encoding"))
        XCTAssertGreaterThan(plain.body.count, 256)

        try c.send(RawClient.get(path, "Accept-Encoding: br;q=1.0, gzip;q=0.8\r\n"))
        let zipped = try c.readResponse()
        XCTAssertEqual(zipped.header("Content-Encoding"), "gzip")
        XCTAssertEqual(zipped.header("Vary"), "Accept-Encoding")
        XCTAssertLessThan(zipped.body.count, plain.body.count)
        XCTAssertEqual(try Gzip.decompress(zipped.body), plain.body)

        try c.send(RawClient.get(path, "Accept-Encoding: gzip;q=0, identity\r\n"))
        XCTAssertNil(try c.readResponse().header("Content-Encoding"))

        try c.send(RawClient.get("/healthz", "Accept-Encoding: gzip\r\n"))
        XCTAssertNil(try c.readResponse().header("Content-Encoding"), "small bodies are not compressed")
    }

    func testOneLogLinePerRequest() throws {
        let c = try client()
        try c.send(RawClient.get("/healthz?probe=logline"))
        _ = try c.readResponse()
        XCTAssertTrue(Self.server.waitForLog("method=GET path=/healthz"))
        let line = Self.server.log.split(separator: "\n").last { $0.contains("msg=request") && $0.contains("path=/healthz") }
        XCTAssertNotNil(line?.firstMatch(of: /bytes=15 duration_ms=\d+\.\d+ method=GET path=\/healthz peer=127\.0\.0\.1 status=200/), String(line ?? ""))
    }
}
