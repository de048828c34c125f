import Foundation
import UnfoldData
import XCTest

/// libcurl fetches against a local HTTP server started by the test.
final class FetchEndToEndTests: XCTestCase {
    final class Flaky: @unchecked Sendable {
        let lock = NSLock()
        var failuresLeft = 2
    }

    func makeServer() throws -> TestHTTPServer {
        let flaky = Flaky()
        return try TestHTTPServer { path, headers in
            switch path {
            case "/ok": return .respond(status: 200, headers: [], body: Array("user\titem\nu1\ti1\n".utf8))
            case "/gzip":
                let body = try! Gzip.compress(Array(String(repeating: "u1\ti1\n", count: 100).utf8))
                return .respond(status: 200, headers: [("Content-Encoding", "gzip")], body: body)
            case "/missing": return .respond(status: 404, headers: [], body: Array("no".utf8))
            case "/hang": return .hang
            case "/big": return .respond(status: 200, headers: [], body: [UInt8](repeating: 65, count: 300_000))
            case "/etag":
                if headers["if-none-match"] == "\"v1\"" { return .respond(status: 304, headers: [("ETag", "\"v1\"")], body: []) }
                return .respond(status: 200, headers: [("ETag", "\"v1\"")], body: Array("fresh".utf8))
            case "/flaky":
                let fail = flaky.lock.withLock { () -> Bool in
                    if flaky.failuresLeft > 0 { flaky.failuresLeft -= 1; return true }
                    return false
                }
                return fail ? .respond(status: 503, headers: [], body: []) : .respond(status: 200, headers: [], body: Array("ok".utf8))
            default: return .respond(status: 500, headers: [], body: [])
            }
        }
    }

    func options(retries: Int = 0, timeout: Double = 5, maxBytes: Int = 1 << 20) -> Fetcher.Options {
        var o = Fetcher.Options()
        o.retries = retries
        o.totalTimeout = timeout
        o.maxBytes = maxBytes
        o.backoff = 0.05
        return o
    }

    func testOKAndGzip() throws {
        let server = try makeServer()
        let base = "http://127.0.0.1:\(server.port)"
        XCTAssertEqual(try Fetcher.fetch(base + "/ok", options: options()).body, Array("user\titem\nu1\ti1\n".utf8))
        let unzipped = try Fetcher.fetch(base + "/gzip", options: options()).body
        XCTAssertEqual(unzipped, Array(String(repeating: "u1\ti1\n", count: 100).utf8), "gzip is decoded")
        XCTAssertTrue(server.requests.contains { $0.path == "/gzip" && ($0.headers["accept-encoding"] ?? "").contains("gzip") })
        // The reader takes URLs too.
        let read = try InteractionReader().read(location: base + "/ok")
        XCTAssertEqual(read.interactions.count, 1)
    }

    func test404IsAClearErrorWithoutRetries() throws {
        let server = try makeServer()
        let url = "http://127.0.0.1:\(server.port)/missing"
        XCTAssertThrowsError(try Fetcher.fetch(url, options: options(retries: 3))) { error in
            XCTAssertEqual(error as? Fetcher.FetchError, .http(url: url, status: 404))
            XCTAssertEqual("\(error)", "\(url): the server answered 404")
        }
        XCTAssertEqual(server.requests.filter { $0.path == "/missing" }.count, 1, "4xx is not retried")
    }

    func testAServerThatNeverAnswersTimesOut() throws {
        let server = try makeServer()
        let start = Date()
        XCTAssertThrowsError(try Fetcher.fetch("http://127.0.0.1:\(server.port)/hang", options: options(timeout: 0.5))) { error in
            guard case .timeout = error as? Fetcher.FetchError else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testOversizedBodyIsRefused() throws {
        let server = try makeServer()
        XCTAssertThrowsError(try Fetcher.fetch("http://127.0.0.1:\(server.port)/big", options: options(maxBytes: 100_000))) { error in
            guard case .tooLarge(_, 100_000) = error as? Fetcher.FetchError else { return XCTFail("\(error)") }
        }
    }

    func testETagGives304() throws {
        let server = try makeServer()
        let url = "http://127.0.0.1:\(server.port)/etag"
        let first = try Fetcher.fetch(url, options: options())
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.etag, "\"v1\"")
        var conditional = options()
        conditional.ifNoneMatch = first.etag
        let second = try Fetcher.fetch(url, options: conditional)
        XCTAssertTrue(second.notModified)
        XCTAssertEqual(second.body, [])
    }

    func testRetriesWithBackoffOn5xx() throws {
        let server = try makeServer()
        let response = try Fetcher.fetch("http://127.0.0.1:\(server.port)/flaky", options: options(retries: 3))
        XCTAssertEqual(response.body, Array("ok".utf8))
        XCTAssertEqual(server.requests.filter { $0.path == "/flaky" }.count, 3)
        XCTAssertThrowsError(try Fetcher.fetch("http://127.0.0.1:1/refused", options: options(retries: 1))) { error in
            guard case .connection = error as? Fetcher.FetchError else { return XCTFail("\(error)") }
        }
    }

    func testFileURLAndNonURLs() throws {
        let path = NSTemporaryDirectory() + "unfold-fetch-\(UUID().uuidString).tsv"
        try "user\titem\na\tb\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try Fetcher.fetch("file://" + path, options: options()).body, Array("user\titem\na\tb\n".utf8))
        XCTAssertThrowsError(try Fetcher.fetch("ftp://x/y", options: options()))
    }
}

/// Replica mode: a server following a snapshot URL serves what the URL holds and swaps
/// when it changes; an unchanged snapshot is answered 304 and not downloaded again.
final class ReplicaEndToEndTests: XCTestCase {
    final class Published: @unchecked Sendable {
        let lock = NSLock()
        var bytes: [UInt8] = []
        var version: UInt64 = 0
    }

    func testReplicaFollowsTheSnapshotURL() throws {
        let work = NSTemporaryDirectory() + "unfold-replica-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "100", "--items", "40", "--interactions", "2000", "--out", work + "/d.tsv"]).status, 0)
        func train(seed: Int) throws -> (UInt64, [UInt8]) {
            let out = try runUnfold(["train", "--data", work + "/d.tsv", "--out", work + "/primary", "--factors", "4", "--iterations", "2", "--seed", String(seed), "--progress", "json"])
            XCTAssertEqual(out.status, 0, out.stderr)
            let done = try JSONSerialization.jsonObject(with: Data(out.stdout.split(separator: "\n").last!.utf8)) as! [String: Any]
            let path = done["snapshot"] as! String
            return ((done["version"] as! NSNumber).uint64Value, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        }
        let published = Published()
        (published.version, published.bytes) = try train(seed: 1)
        let origin = try TestHTTPServer { _, headers in
            let (bytes, version) = published.lock.withLock { (published.bytes, published.version) }
            let etag = "\"\(version)\""
            if headers["if-none-match"] == etag { return .respond(status: 304, headers: [("ETag", etag)], body: []) }
            return .respond(status: 200, headers: [("ETag", etag)], body: bytes)
        }
        let replica = try ServerProcess(["--snapshots", work + "/replica", "--snapshot-url", "http://127.0.0.1:\(origin.port)/wals.unfold", "--snapshot-poll-seconds", "0.2"])
        let first = published.version
        XCTAssertTrue(replica.waitForLog("to=\(first)"), replica.log)
        usleep(600_000)
        let conditional = origin.requests.filter { $0.headers["if-none-match"] == "\"\(first)\"" }.count
        XCTAssertGreaterThan(conditional, 0, "polls are conditional once the snapshot is known")

        let (second, bytes) = try train(seed: 2)
        published.lock.withLock { published.version = second; published.bytes = bytes }
        XCTAssertTrue(replica.waitForLog("to=\(second)"), replica.log)
        let c = try RawClient(port: replica.port)
        try c.send(RawClient.get("/v1/items/i1/similar?k=3"))
        XCTAssertEqual(((try c.readResponse().json?["model"] as? [String: Any])?["version"] as? NSNumber)?.uint64Value, second)
        XCTAssertEqual(replica.log.components(separatedBy: "replica downloaded a snapshot").count - 1, 2, "one download per version")
    }
}
