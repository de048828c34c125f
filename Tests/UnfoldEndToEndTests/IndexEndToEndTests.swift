import Foundation
import XCTest
import UnfoldSnapshot

/// A 100k-item catalogue trained, indexed and served by the real binary: the approximate
/// index answers what the exact scan answers (`"exact": true`) for nearly every query, with
/// exact scores, also under a filter; `GET /admin/models` shows it; `unfold index` adds one
/// to an existing snapshot. (The event core does not matter here: run once, not per core.)
final class IndexEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var work: String!
    nonisolated(unsafe) static var histories: [String: [String]] = [:]

    static func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override class func setUp() {
        guard ServerProcess.eventLoop != "epoll" else { return }
        work = NSTemporaryDirectory() + "unfold-index-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let generate = try! runUnfold(["generate", "--users", "20000", "--items", "100000", "--interactions", "800000", "--groups", "20",
                                       "--popularity-exponent", "0.5", "--seed", "5", "--out", path("train.tsv")])
        precondition(generate.status == 0, generate.stderr)
        let train = try! runUnfold(["train", "--model", "wals", "--data", path("train.tsv"), "--factors", "16", "--iterations", "4",
                                    "--neighbours", "0", "--ann-min-items", "50000", "--out", path("snapshots"), "--progress", "text"], timeout: 600)
        precondition(train.status == 0, train.stderr)
        for line in (try! String(contentsOfFile: path("train.tsv"), encoding: .utf8)).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: "\t")
            if fields.count >= 2 { histories[String(fields[0]), default: []].append(String(fields[1])) }
        }
    }

    override class func tearDown() {
        if let work { try? FileManager.default.removeItem(atPath: work) }
    }

    override func setUpWithError() throws {
        if ServerProcess.eventLoop == "epoll" { throw XCTSkip("the index does not depend on the event core; run with dispatch only") }
    }

    func call(_ server: ServerProcess, _ method: String, _ path: String, _ body: String = "") throws -> WireResponse {
        let c = try RawClient(port: server.port)
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func items(_ response: WireResponse) -> [(String, Double)] {
        ((response.json?["items"] as? [[String: Any]]) ?? []).map { ($0["id"] as? String ?? "", $0["score"] as? Double ?? .nan) }
    }

    func testIndexedServingAgreesWithTheExactScan() throws {
        let server = try ServerProcess(["--snapshots", Self.path("snapshots"), "--ann-min-items", "50000"])
        let deadline = Date().addingTimeInterval(30)
        while try call(server, "GET", "/readyz").status != 200 && Date() < deadline { usleep(50_000) }
        let models = try call(server, "GET", "/admin/models")
        let index = try XCTUnwrap(((models.json?["models"] as? [[String: Any]])?.first)?["index"] as? [String: Any], models.text)
        let lists = try XCTUnwrap(index["lists"] as? Int), probes = try XCTUnwrap(index["probes"] as? Int)
        XCTAssertLessThan(probes * 8, lists, "probing an eighth of the lists at most: \(index)")
        XCTAssertGreaterThanOrEqual(index["recall@10"] as? Double ?? 0, 0.95)

        let users = Self.histories.keys.sorted().enumerated().filter { $0.offset % 4 == 0 }.map(\.element).prefix(100)
        let ids = Array(Set(Self.histories.values.joined())).sorted()
        var allowed = ids.enumerated().filter { $0.offset % 10 == 3 }.map(\.element)
        allowed.sort()
        let include = allowed.map { "\"\($0)\"" }.joined(separator: ",")
        var hits = 0, total = 0, filteredHits = 0, filteredTotal = 0
        for user in users {
            let posted = Self.histories[user]!.suffix(20).map { #"{"item":"\#($0)"}"# }.joined(separator: ",")
            let approximate = items(try call(server, "POST", "/v1/recommend", #"{"interactions":[\#(posted)],"k":10}"#))
            let exact = items(try call(server, "POST", "/v1/recommend", #"{"interactions":[\#(posted)],"k":10,"exact":true}"#))
            XCTAssertEqual(exact.count, 10)
            let exactScores = Dictionary(exact, uniquingKeysWith: { a, _ in a })
            for (id, score) in approximate where exactScores[id] != nil { XCTAssertEqual(score, exactScores[id]!, "scores are exact") }
            total += exact.count
            hits += exact.filter { e in approximate.contains { $0.0 == e.0 } }.count
            let filtered = items(try call(server, "POST", "/v1/recommend", #"{"interactions":[\#(posted)],"k":10,"include":[\#(include)]}"#))
            let filteredExact = items(try call(server, "POST", "/v1/recommend", #"{"interactions":[\#(posted)],"k":10,"include":[\#(include)],"exact":true}"#))
            XCTAssertTrue(filtered.allSatisfy { allowed.contains($0.0) })
            filteredTotal += filteredExact.count
            filteredHits += filteredExact.filter { e in filtered.contains { $0.0 == e.0 } }.count
        }
        let recall = Double(hits) / Double(total), filteredRecall = Double(filteredHits) / Double(filteredTotal)
        XCTAssertGreaterThanOrEqual(recall, 0.95, "recall@10 through the API")
        XCTAssertGreaterThanOrEqual(filteredRecall, 0.95, "recall@10 with a filter that allows 10% of the items")
        print("index e2e: \(lists) lists, \(probes) probes; recall@10 \(recall) over \(users.count) users, filtered \(filteredRecall)")

        // Similar without stored neighbours comes from the index.
        let similar = try call(server, "GET", "/v1/items/\(ids[0])/similar?k=50")
        XCTAssertEqual(similar.status, 200, similar.text)
        XCTAssertEqual(items(similar).count, 50)
    }

    /// `unfold index` on a snapshot without one writes the next version with an index.
    func testUnfoldIndexAddsAnIndexToASnapshot() throws {
        let plain = Self.path("plain")
        let train = try runUnfold(["train", "--model", "wals", "--data", Self.path("train.tsv"), "--factors", "8", "--iterations", "1",
                                   "--neighbours", "0", "--ann-min-items", "0", "--out", plain, "--progress", "none"], timeout: 600)
        XCTAssertEqual(train.status, 0, train.stderr)
        let first = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: plain).first { $0.hasSuffix(".unfold") })
        XCTAssertNil(try Snapshot.open(path: plain + "/" + first).model.index)
        let built = try runUnfold(["index", plain + "/" + first, "--lists", "64"], timeout: 600)
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(built.stderr.contains("index: 64 lists"), built.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: plain).filter { $0.hasSuffix(".unfold") }.sorted()
        XCTAssertEqual(files.count, 2)
        let indexed = try Snapshot.open(path: plain + "/" + files.last!).model
        XCTAssertEqual(indexed.index?.lists, 64)
        XCTAssertGreaterThan(indexed.version, try Snapshot.open(path: plain + "/" + first).model.version)
    }
}
