import XCTest
@testable import UnfoldHTTP

final class HTTPParserTests: XCTestCase {
    let simple = "GET /v1/items/7/similar?k=5 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"
    let chunked = "POST /v1/recommend HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    let fixed = "POST /v1/interactions HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"

    func testSimpleGet() throws {
        let outcome = parse(simple)
        XCTAssertNil(outcome.error)
        let head = try XCTUnwrap(outcome.heads.first)
        XCTAssertEqual(head.method, "GET")
        XCTAssertEqual(head.path, "/v1/items/7/similar")
        XCTAssertEqual(head.query, "k=5")
        XCTAssertEqual(head.version, .http1_1)
        XCTAssertEqual(head.headers["host"], "localhost")
        XCTAssertEqual(outcome.bodies, [[]])
        XCTAssertTrue(head.keepAlive)
    }

    func testContentLengthBody() {
        let outcome = parse(fixed)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.bodies, [Array("hello world".utf8)])
    }

    func testChunkedBodyWithExtensionsAndTrailers() {
        let outcome = parse(chunked)
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.bodies, [Array("hello world".utf8)])
    }

    /// Every split point of a request stream gives the same events as the whole.
    func testEverySplitPointGivesTheSameResult() {
        let stream = Array((simple + chunked + fixed + simple).utf8)
        let whole = parse([stream])
        XCTAssertEqual(whole.heads.count, 4)
        XCTAssertNil(whole.error)
        for split in 0...stream.count {
            XCTAssertEqual(parse([Array(stream[..<split]), Array(stream[split...])]), whole, "split at \(split)")
        }
    }

    func testByteByByteGivesTheSameResult() {
        for text in [simple, chunked, fixed, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"] {
            let bytes = Array(text.utf8)
            XCTAssertEqual(parse(bytes.map { [$0] }), parse([bytes]), text)
        }
    }

    func testErrorsDoNotDependOnTheSplit() {
        let bad = [
            "GET / HTTP/1.1\nHost: a\r\n\r\n",
            "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n",
            "GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n\r\n",
        ]
        let limits = HTTPParserLimits(maxRequestLineBytes: 256)
        for text in bad {
            let bytes = Array(text.utf8)
            let whole = parse([bytes], limits: limits)
            XCTAssertNotNil(whole.error, text)
            for split in 0...bytes.count {
                XCTAssertEqual(parse([Array(bytes[..<split]), Array(bytes[split...])], limits: limits), whole, "split at \(split) of \(text)")
            }
        }
    }

    func testPipelinedRequestsInOneBuffer() {
        let outcome = parse(simple + fixed + simple)
        XCTAssertEqual(outcome.heads.map(\.method), ["GET", "POST", "GET"])
        XCTAssertEqual(outcome.bodies.count, 3)
    }

    // MARK: - Smuggling defences (RFC 9112 §6)

    func testContentLengthWithTransferEncodingIsRejected() {
        let outcome = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        XCTAssertEqual(outcome.error?.status, .badRequest)
    }

    func testDifferingContentLengthsAreRejected() {
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello").error?.status, .badRequest)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello").error?.status, .badRequest)
    }

    func testIdenticalContentLengthsAreOneValue() {
        let outcome = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\nhello")
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.bodies, [Array("hello".utf8)])
    }

    func testBadContentLengthIsRejected() {
        for value in ["-1", "+5", "5 5", "0x10", "", "99999999999999999999"] {
            XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(value)\r\n\r\n").error?.status, .badRequest, value)
        }
    }

    func testTransferEncodingMustEndInChunked() {
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").error?.status, .notImplemented)
    }

    func testTransferEncodingInHTTP10IsRejected() {
        XCTAssertEqual(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").error?.status, .badRequest)
    }

    func testWhitespaceBeforeColonIsRejected() {
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost : a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n").error?.status, .badRequest)
    }

    func testBareLFIsRejected() {
        XCTAssertEqual(parse("GET / HTTP/1.1\nHost: a\n\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\n\r\n").error?.status, .badRequest)
    }

    func testObsoleteLineFoldingIsRejected() {
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n").error?.status, .badRequest)
    }

    func testControlCharactersInValuesAreRejected() {
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{0}c\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n").error?.status, .badRequest)
    }

    func testHostIsRequiredOnceInHTTP11() {
        XCTAssertEqual(parse("GET / HTTP/1.1\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").error?.status, .badRequest)
        XCTAssertNil(parse("GET / HTTP/1.0\r\n\r\n").error)
    }

    // MARK: - Chunked framing (RFC 9112 §7.1)

    func testChunkSizesAreHexOnly() {
        for size in ["+5", "0x5", " 5", "5 x", "g", ""] {
            let text = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\(size)\r\nhello\r\n0\r\n\r\n"
            XCTAssertEqual(parse(text).error?.status, .badRequest, "size '\(size)'")
        }
        let upper = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n")
        XCTAssertEqual(upper.bodies, [Array("0123456789".utf8)])
    }

    func testChunkDataMustEndWithCRLF() {
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n").error?.status, .badRequest)
    }

    func testChunkExtensionsAreBounded() {
        let limits = HTTPParserLimits(maxChunkLineBytes: 32)
        let ext = String(repeating: "x", count: 64)
        let outcome = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;\(ext)\r\nhello\r\n0\r\n\r\n", limits: limits)
        XCTAssertEqual(outcome.error?.status, .badRequest)
    }

    func testChunkSizeOverflowIsRejected() {
        let outcome = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n")
        XCTAssertEqual(outcome.error?.status, .badRequest)
    }

    // MARK: - Limits

    func testRequestLineLimitGives414() {
        let limits = HTTPParserLimits(maxRequestLineBytes: 64)
        let long = "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(parse(long, limits: limits).error?.status, .uriTooLong)
        // Without a line end yet, the limit still triggers once the line cannot fit.
        XCTAssertEqual(parse("GET /" + String(repeating: "a", count: 100), limits: limits).error?.status, .uriTooLong)
    }

    func testHeaderBytesLimitGives431() {
        let limits = HTTPParserLimits(maxHeaderBytes: 256)
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 300) + "\r\n\r\n"
        XCTAssertEqual(parse(big, limits: limits).error?.status, .requestHeaderFieldsTooLarge)
    }

    func testHeaderCountLimitGives431() {
        let limits = HTTPParserLimits(maxHeaderCount: 10)
        let many = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<10).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertEqual(parse(many, limits: limits).error?.status, .requestHeaderFieldsTooLarge)
        let enough = "GET / HTTP/1.1\r\nHost: a\r\n" + (0..<9).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        XCTAssertNil(parse(enough, limits: limits).error)
    }

    func testBodyLimitGives413() {
        let limits = HTTPParserLimits(maxBodyBytes: 10)
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits: limits).error?.status, .payloadTooLarge)
        let chunks = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n"
        XCTAssertEqual(parse(chunks, limits: limits).error?.status, .payloadTooLarge)
    }

    // MARK: - Request line

    func testMalformedRequestLines() {
        XCTAssertEqual(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/1.1 \r\nHost: a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTQ/1.1\r\nHost: a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET nopath HTTP/1.1\r\nHost: a\r\n\r\n").error?.status, .badRequest)
        XCTAssertEqual(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n").error?.status, .httpVersionNotSupported)
    }

    func testAbsoluteFormBecomesOriginForm() {
        XCTAssertEqual(parse("GET http://example.com/a/b?c=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").heads.first?.target, "/a/b?c=1")
        XCTAssertEqual(parse("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").heads.first?.target, "/")
    }

    func testLeadingEmptyLinesAreIgnored() {
        XCTAssertEqual(parse("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").heads.count, 1)
    }

    // MARK: - Connection semantics

    func testConnectionTokens() {
        func head(_ version: String, _ connection: String?) -> HTTPRequestHead {
            let field = connection.map { "Connection: \($0)\r\n" } ?? ""
            return parse("GET / \(version)\r\nHost: a\r\n\(field)\r\n").heads[0]
        }
        XCTAssertTrue(head("HTTP/1.1", nil).keepAlive)
        XCTAssertFalse(head("HTTP/1.1", "close").keepAlive)
        XCTAssertFalse(head("HTTP/1.1", "Upgrade, Close").keepAlive)
        XCTAssertFalse(head("HTTP/1.0", nil).keepAlive)
        XCTAssertTrue(head("HTTP/1.0", "keep-alive").keepAlive)
        XCTAssertTrue(head("HTTP/1.0", "foo, Keep-Alive").keepAlive)
    }

    func testUnsupportedExpectationGives417() {
        XCTAssertEqual(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx").error?.status, .expectationFailed)
    }

    /// Inputs the fuzzer once found: they must keep parsing the same way.
    func testFuzzerRegressions() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fuzz/regressions/http-parser")
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        XCTAssertFalse(files.isEmpty)
        let limits = HTTPParserLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 2048, maxChunkLineBytes: 64)
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: file))
            let half = bytes.count / 2
            XCTAssertEqual(parse([Array(bytes[..<half]), Array(bytes[half...])], limits: limits), parse([bytes], limits: limits), file.lastPathComponent)
        }
    }
}
