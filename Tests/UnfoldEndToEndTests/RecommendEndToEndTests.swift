import Foundation
import UnfoldMath
import UnfoldSnapshot
import XCTest

/// The recommendation endpoints on the real binary, with a model trained by the real
/// `unfold train` on generated data.
final class RecommendEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var work: String!
    nonisolated(unsafe) static var server: ServerProcess!

    static func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override class func setUp() {
        work = NSTemporaryDirectory() + "unfold-e2e-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let generate = try! runUnfold(["generate", "--users", "300", "--items", "120", "--interactions", "6000", "--groups", "3", "--seed", "5",
                                       "--out", path("data.tsv"), "--groups-out", path("groups.tsv")])
        precondition(generate.status == 0, generate.stderr)
        var items = "item\ttitle\tcategories\n"
        for i in 0..<120 { items += "i\(i)\tItem number \(i)\t\(i % 3 == 0 ? "even-third" : "rest")|all\n" }
        try! items.write(toFile: path("items.tsv"), atomically: true, encoding: .utf8)
        let split = try! runUnfold(["split", "--data", path("data.tsv"), "--method", "temporal", "--test-fraction", "0.2",
                                    "--train-out", path("train.tsv"), "--test-out", path("test.tsv")])
        precondition(split.status == 0, split.stderr)
        let train = try! runUnfold(["train", "--data", path("train.tsv"), "--test", path("test.tsv"), "--items", path("items.tsv"),
                                    "--out", path("snapshots"), "--factors", "16", "--iterations", "6", "--neighbours", "10", "--regularization", "2.3"])
        precondition(train.status == 0, train.stderr)
        server = try! ServerProcess(["--snapshots", path("snapshots")])
        precondition(server.waitForLog("msg=\"model loaded\""), server.log)
    }

    override class func tearDown() {
        server.signal(SIGTERM)
        server.waitForExit(timeout: 10)
        server = nil
        try? FileManager.default.removeItem(atPath: work)
    }

    func post(_ body: String, contentType: String? = "application/json") throws -> WireResponse {
        let c = try RawClient(port: Self.server.port)
        let type = contentType.map { "Content-Type: \($0)\r\n" } ?? ""
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\n\(type)Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func get(_ path: String) throws -> WireResponse {
        let c = try RawClient(port: Self.server.port)
        try c.send(RawClient.get(path))
        return try c.readResponse()
    }

    func ids(_ response: WireResponse) -> [String] {
        (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    func testReadyOnceAModelIsLoaded() throws {
        XCTAssertEqual(try get("/readyz").status, 200)
        let empty = try ServerProcess(["--snapshots", Self.path("no-such-dir")])
        let c = try RawClient(port: empty.port)
        try c.send(RawClient.get("/readyz"))
        XCTAssertEqual(try c.readResponse().status, 503)
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.errorCode, "not_ready")
    }

    func testRecommendFromInteractions() throws {
        // Users of group 0 interact with items i0, i3, i6, ...: the answer should stay in that group.
        let response = try post(#"{"interactions":[{"item":"i0"},{"item":"i3","weight":2},{"item":"i6"},{"item":"i9"},{"item":"i12"},{"item":"i15"},{"item":"ghost"}],"k":10}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let json = try XCTUnwrap(response.json)
        XCTAssertEqual(json["source"] as? String, "model")
        XCTAssertEqual((json["model"] as? [String: Any])?["name"] as? String, "wals")
        XCTAssertNotNil((json["model"] as? [String: Any])?["version"] as? Int)
        XCTAssertEqual(json["unknown_items"] as? [String], ["ghost"])
        let items = try XCTUnwrap(json["items"] as? [[String: Any]])
        XCTAssertEqual(items.count, 10)
        let scores = items.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        XCTAssertTrue(items.allSatisfy { ($0["title"] as? String)?.hasPrefix("Item number") == true })
        let recommended = ids(response)
        XCTAssertFalse(recommended.contains("i0"), "seen items are excluded by default")
        let inGroup = recommended.filter { Int($0.dropFirst())! % 3 == 0 }.count
        XCTAssertGreaterThanOrEqual(inGroup, 7, "a third would be chance: \(recommended)")
    }

    /// The served scores are q·v_i for the least-squares fold-in q, solved here directly
    /// (A = w0 VᵀV + λI + Σ (c_i − w0) v_i v_iᵀ, b = Σ c_i v_i) from the snapshot file: the
    /// server's Woodbury path over its table of solved items gives the same numbers.
    func testServedScoresEqualTheDirectFoldInSolve() throws {
        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: Self.path("snapshots")).first { $0.hasSuffix(".unfold") })
        let snapshot = try Snapshot.open(path: Self.path("snapshots/" + file))
        guard case .foldIn(let foldIn) = snapshot.model.encoder else { return XCTFail("a WALS snapshot is served by fold-in") }
        let items = snapshot.model.items.matrix, d = items.cols
        let index = Dictionary(uniqueKeysWithValues: snapshot.model.items.ids.enumerated().map { ($1, $0) })
        let posted: [(String, Float)] = [("i1", 1), ("i4", 3), ("i7", 1), ("i10", 0.5), ("i13", 2)]
        var a = foldIn.gram, b = [Float](repeating: 0, count: d)
        for (id, weight) in posted {
            let i = try XCTUnwrap(index[id]), c = foldIn.confidence(weight)
            for r in 0..<d {
                b[r] += c * items[i, r]
                for l in 0..<d { a[r * d + l] += (c - foldIn.unobservedWeight) * items[i, r] * items[i, l] }
            }
        }
        let q = try XCTUnwrap(choleskySolve(a, b))
        let body = posted.map { #"{"item":"\#($0.0)","weight":\#($0.1)}"# }.joined(separator: ",")
        // A set (no recency weighting): the plain least-squares solve above.
        let response = try post(#"{"interactions":[\#(body)],"k":30,"ordered":false}"#)
        XCTAssertEqual(response.status, 200, response.text)
        let served = try XCTUnwrap(response.json?["items"] as? [[String: Any]])
        XCTAssertEqual(served.count, 30)
        for item in served {
            let id = try XCTUnwrap(item["id"] as? String), score = try XCTUnwrap(item["score"] as? Double)
            let i = try XCTUnwrap(index[id])
            let expected = (0..<d).reduce(Float(0)) { $0 + q[$1] * items[i, $1] }
            XCTAssertEqual(Float(score), expected, accuracy: 1e-4 * max(1, abs(expected)), "item \(id)")
        }
    }

    func testExcludeSeenFalseAndExcludeList() throws {
        let withSeen = ids(try post(#"{"interactions":[{"item":"i0"},{"item":"i3"}],"k":120,"exclude_seen":false}"#))
        XCTAssertTrue(withSeen.contains("i0"))
        let excluded = ids(try post(#"{"interactions":[{"item":"i0"}],"k":120,"exclude":["i9","i12"]}"#))
        XCTAssertFalse(excluded.contains("i9"))
        XCTAssertFalse(excluded.contains("i12"))
        XCTAssertEqual(excluded.count, 117)
    }

    func testIncludeAndCategoryFilters() throws {
        let included = ids(try post(#"{"interactions":[{"item":"i0"}],"k":5,"include":["i1","i2","i4"]}"#))
        XCTAssertEqual(Set(included), ["i1", "i2", "i4"])
        let category = ids(try post(#"{"interactions":[{"item":"i1"}],"k":50,"categories":["even-third"]}"#))
        XCTAssertEqual(category.count, 40)
        XCTAssertTrue(category.allSatisfy { Int($0.dropFirst())! % 3 == 0 })
    }

    func testPopularityFallback() throws {
        for body in [#"{"k":5}"#, #"{"interactions":[],"k":5}"#, #"{"interactions":[{"item":"ghost"}],"k":5}"#] {
            let response = try post(body)
            XCTAssertEqual(response.status, 200)
            XCTAssertEqual(response.json?["source"] as? String, "popular")
            let scores = (response.json?["items"] as? [[String: Any]])?.compactMap { $0["score"] as? Double } ?? []
            XCTAssertEqual(scores.count, 5)
            XCTAssertEqual(scores, scores.sorted(by: >), "most popular first")
        }
    }

    func testSimilarItems() throws {
        let five = try get("/v1/items/i3/similar?k=5")
        XCTAssertEqual(five.status, 200)
        XCTAssertEqual(five.json?["item"] as? String, "i3")
        let precomputed = ids(five)
        XCTAssertEqual(precomputed.count, 5)
        XCTAssertFalse(precomputed.contains("i3"))
        // Beyond the 10 precomputed neighbours the server scans; the head agrees.
        let computed = ids(try get("/v1/items/i3/similar?k=30"))
        XCTAssertEqual(computed.count, 30)
        XCTAssertEqual(Array(computed.prefix(3)), Array(precomputed.prefix(3)))
        XCTAssertEqual(try get("/v1/items/ghost/similar").status, 404)
        XCTAssertEqual(try get("/v1/items/i3/similar?k=0").status, 400)
        XCTAssertEqual(try get("/v1/items/i3/similar?k=abc").status, 400)
        XCTAssertEqual(try get("/v1/items/i3/similar?model=nope").errorCode, "model_not_found")
    }

    func testItemMetadata() throws {
        let response = try get("/v1/items/i3")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.json?["title"] as? String, "Item number 3")
        XCTAssertEqual(response.json?["categories"] as? [String], ["even-third", "all"])
        XCTAssertEqual(((response.json?["models"] as? [String: Any])?["wals"] as? [String: Any])?["known"] as? Bool, true)
        let missing = try get("/v1/items/ghost")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.errorCode, "item_not_found")
    }

    func testBadInputs() throws {
        let cases: [(String, Int, String)] = [
            (#"{"k":0}"#, 400, "k must be an integer between 1 and 1000"),
            (#"{"k":1001}"#, 400, "k must be an integer"),
            (#"{"k":2.5}"#, 400, "k must be an integer"),
            (#"{"k":true}"#, 400, "k must be an integer"),
            (#"{"interactions":[{"item":"i1"}"#, 400, "not valid JSON"),
            (#"[1,2]"#, 400, "must be a JSON object"),
            (#"{"interactions":{"item":"i1"}}"#, 400, "interactions must be an array"),
            (#"{"interactions":[{"weight":1}]}"#, 400, "interactions[0].item is missing"),
            (#"{"interactions":[{"item":"i1","weight":-1}]}"#, 400, "interactions[0].weight"),
            (#"{"interactions":[],"exclude_seen":"yes"}"#, 400, "exclude_seen must be a boolean"),
            (#"{"interactons":[]}"#, 400, "unknown field 'interactons'"),
            (#"{"model":"softmax"}"#, 404, "no model named 'softmax'"),
            (#"{"interactions":[{"item":"i1"}],"features":{"age":3}}"#, 400, "unknown feature 'age'; this model's features are: (none)"),
        ]
        for (body, status, message) in cases {
            let response = try post(body)
            XCTAssertEqual(response.status, status, body)
            let text = ((response.json?["error"] as? [String: Any])?["message"] as? String) ?? ""
            XCTAssertTrue(text.contains(message), "\(body): \(text)")
        }
        XCTAssertEqual(try post("{}", contentType: "text/plain").status, 415)
        let many = "{\"interactions\":[" + Array(repeating: #"{"item":"i1"}"#, count: 10_001).joined(separator: ",") + "]}"
        let tooMany = try post(many)
        XCTAssertEqual(tooMany.status, 413)
        XCTAssertTrue(tooMany.text.contains("at most 10000"))
        XCTAssertEqual(try get("/healthz").status, 200, "the server is still up")
    }

    func testACorruptNewerSnapshotIsSkippedAtStart() throws {
        let directory = Self.path("corrupt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let valid = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: Self.path("snapshots")).first { $0.hasSuffix(".unfold") })
        try FileManager.default.copyItem(atPath: Self.path("snapshots/\(valid)"), toPath: directory + "/wals-1.unfold")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/wals-1.unfold"))
        bytes[bytes.count - 200] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: directory + "/wals-2.unfold"))
        let server = try ServerProcess(["--snapshots", directory])
        // Candidates load oldest first: wals-1 is loaded, then wals-2 is rejected.
        XCTAssertTrue(server.waitForLog("msg=\"model loaded\""))
        XCTAssertTrue(server.waitForLog("msg=\"snapshot rejected\""), server.log)
        XCTAssertTrue(server.log.contains("check crc failed"), server.log)
        XCTAssertTrue(server.log.contains("path=\(directory)/wals-1.unfold"), "the older valid file is served: \(server.log)")
        let c = try RawClient(port: server.port)
        try c.send(RawClient.get("/readyz"))
        XCTAssertEqual(try c.readResponse().status, 200)
    }
}
