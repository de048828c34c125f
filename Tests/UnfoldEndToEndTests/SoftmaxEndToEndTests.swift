import Foundation
import UnfoldModels
import UnfoldSnapshot
import UnfoldTraining
import XCTest

/// The softmax model end to end: trained by the real `unfold train` with user features,
/// served by the real binary's forward pass, checked against the trainer's forward pass.
final class SoftmaxEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var work: String!
    nonisolated(unsafe) static var server: ServerProcess!

    static func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override class func setUp() {
        work = NSTemporaryDirectory() + "unfold-softmax-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let generate = try! runUnfold(["generate", "--users", "300", "--items", "120", "--interactions", "6000", "--groups", "3", "--in-group", "1", "--seed", "7",
                                       "--out", path("data.tsv"), "--groups-out", path("groups.tsv")])
        precondition(generate.status == 0, generate.stderr)
        // A users file: the planted group as a categorical feature, and a numeric one.
        var users = "user_id\tsegment\tage\n"
        for line in try! String(contentsOfFile: path("groups.tsv"), encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: "\t")
            guard fields.count == 3, fields[0] == "user" else { continue }
            users += "\(fields[1])\tg\(fields[2])\t\(20 + (Int(fields[2])! * 7) % 40)\n"
        }
        try! users.write(toFile: path("users.tsv"), atomically: true, encoding: .utf8)
        let train = try! runUnfold(["train", "--model", "softmax", "--data", path("data.tsv"), "--out", path("snapshots"), "--factors", "16", "--hidden", "32",
                                    "--negatives", "20", "--epochs", "12", "--learning-rate", "0.01", "--neighbours", "10",
                                    "--user-features", path("users.tsv"), "--features", "segment,age:numeric", "--bag-dropout", "0.1"])
        precondition(train.status == 0, train.stderr)
        let wals = try! runUnfold(["train", "--data", path("data.tsv"), "--out", path("snapshots"), "--factors", "8", "--iterations", "3", "--neighbours", "0"])
        precondition(wals.status == 0, wals.stderr)
        server = try! ServerProcess(["--snapshots", path("snapshots"), "--default-model", "softmax"])
        precondition(server.waitForLog("model=softmax"), server.log)
        precondition(server.waitForLog("model=wals"), server.log)
    }

    override class func tearDown() {
        server.signal(SIGTERM)
        server.waitForExit(timeout: 10)
        server = nil
        try? FileManager.default.removeItem(atPath: work)
    }

    func post(_ body: String) throws -> WireResponse {
        let c = try RawClient(port: Self.server.port)
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func items(_ response: WireResponse) -> [(id: String, score: Double)] {
        (response.json?["items"] as? [[String: Any]])?.compactMap { item in
            guard let id = item["id"] as? String, let score = item["score"] as? Double else { return nil }
            return (id, score)
        } ?? []
    }

    /// The group of an item from the generator's ground truth.
    func groups() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for line in try String(contentsOfFile: Self.path("groups.tsv"), encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: "\t")
            if f.count == 3, f[0] == "item" { out[String(f[1])] = Int(f[2]) }
        }
        return out
    }

    func snapshotPath() throws -> String {
        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: Self.path("snapshots")).first { $0.hasPrefix("softmax-") && $0.hasSuffix(".unfold") })
        return Self.path("snapshots/" + file)
    }

    func testServedScoresEqualTheTowersForwardPass() throws {
        let snapshot = try Snapshot.open(path: try snapshotPath())
        guard case .tower(let tower) = snapshot.model.encoder else { return XCTFail("a softmax snapshot is served by its tower") }
        XCTAssertEqual(tower.features.map(\.name), ["segment", "age"])
        let table = snapshot.model.items.matrix
        let index = Dictionary(uniqueKeysWithValues: snapshot.model.items.ids.enumerated().map { ($1, Int32($0)) })
        let posted: [(String, Float)] = [("i4", 1), ("i7", 2.5), ("i10", 1)]
        let response = try post(#"{"interactions":[{"item":"i4"},{"item":"i7","weight":2.5},{"item":"i10"}],"features":{"segment":"g1","age":33},"k":20}"#)
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json?["source"] as? String, "model")
        XCTAssertEqual((response.json?["model"] as? [String: Any])?["name"] as? String, "softmax")
        var q = [Float](repeating: 0, count: table.cols)
        let features = try tower.features(["segment": .string("g1"), "age": .number(33)])
        q.withUnsafeMutableBufferPointer { tower.encode(bag: ItemBag(distinct: posted.map { index[$0.0]! }, weights: posted.map(\.1)), features: features, out: $0.baseAddress!) }
        let served = items(response)
        XCTAssertEqual(served.count, 20)
        for (id, score) in served {
            let i = Int(index[id]!)
            let expected = (0..<q.count).reduce(Float(0)) { $0 + q[$1] * table[i, $1] } + tower.itemBias[i]
            XCTAssertEqual(Float(score), expected, accuracy: 1e-5 * max(1, abs(expected)), "item \(id)")
        }
        // The trainer's own metadata: per-epoch stable ranks and the item spectrum.
        XCTAssertEqual(snapshot.metadata.epochs.count, 12)
        XCTAssertTrue(snapshot.metadata.epochs.allSatisfy { $0.stableRankItems >= 1 && $0.stableRankItems <= 16 })
        XCTAssertEqual(snapshot.metadata.itemSpectrum.count, 16)
    }

    /// A tower is not additive: its explanation is leave-one-out, marked approximate, and an
    /// item's contribution is the score less the score without that item.
    func testExplanationOfATowerIsLeaveOneOut() throws {
        let full = try post(#"{"interactions":[{"item":"i4"},{"item":"i7"}],"features":{"segment":"g1","age":33},"k":1,"explain":true}"#)
        XCTAssertEqual(full.status, 200, full.text)
        XCTAssertEqual(full.json?["explanation"] as? String, "approximate")
        let item = try XCTUnwrap((full.json?["items"] as? [[String: Any]])?.first)
        let because = try XCTUnwrap(item["because"] as? [[String: Any]])
        XCTAssertEqual(Set(because.compactMap { $0["item"] as? String }), ["i4", "i7"])
        let id = try XCTUnwrap(item["id"] as? String)
        let without = try post(#"{"interactions":[{"item":"i4"}],"features":{"segment":"g1","age":33},"k":1,"include":["\#(id)"],"exclude_seen":false}"#)
        let reduced = try XCTUnwrap((without.json?["items"] as? [[String: Any]])?.first?["score"] as? Double)
        let i7 = try XCTUnwrap(because.first { $0["item"] as? String == "i7" }?["contribution"] as? Double)
        XCTAssertEqual(i7, (item["score"] as! Double) - reduced, accuracy: 1e-4)
    }

    func testColdStartFromFeaturesAlone() throws {
        let groups = try groups()
        var lists: [[String]] = []
        for g in 0..<3 {
            let response = try post(#"{"features":{"segment":"g\#(g)","age":\#(20 + (g * 7) % 40)},"k":10}"#)
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.json?["source"] as? String, "model", "features alone are a query")
            let ids = items(response).map(\.id)
            XCTAssertEqual(ids.count, 10)
            let inGroup = ids.filter { groups[$0] == g }.count
            XCTAssertGreaterThanOrEqual(inGroup, 8, "a new user of segment g\(g) gets that segment's items: \(ids)")
            lists.append(ids)
        }
        XCTAssertNotEqual(lists[0], lists[1])
        // An unseen segment value falls back to the unknown row and still answers.
        XCTAssertEqual(try post(#"{"features":{"segment":"g9"}}"#).status, 200)
        // No interactions and no features: the popularity fallback.
        XCTAssertEqual(try post(#"{"k":5}"#).json?["source"] as? String, "popular")
    }

    func testBadFeaturesAreRejectedWithTheName() throws {
        let cases: [(String, String)] = [
            (#"{"features":{"height":180}}"#, "unknown feature 'height'; this model's features are: segment, age"),
            (#"{"features":{"age":"old"}}"#, "feature 'age' must be a number"),
            (#"{"features":{"segment":3}}"#, "feature 'segment' must be a string"),
            (#"{"features":{"segment":true}}"#, "features.segment must be a number or a string"),
            (#"{"features":[1,2]}"#, "features must be an object"),
            (#"{"model":"wals","interactions":[{"item":"i1"}],"features":{"segment":"g1"}}"#, "unknown feature 'segment'; this model's features are: (none)"),
        ]
        for (body, message) in cases {
            let response = try post(body)
            XCTAssertEqual(response.status, 400, body)
            XCTAssertEqual(response.errorCode, "bad_request", body)
            XCTAssertTrue((response.errorMessage ?? "").contains(message), "\(body): \(response.text)")
        }
        // The server is still serving.
        XCTAssertEqual(try post(#"{"interactions":[{"item":"i1"}]}"#).status, 200)
    }

    func testSimilarItemsOfTheSoftmaxTable() throws {
        let c = try RawClient(port: Self.server.port)
        try c.send(RawClient.get("/v1/items/i3/similar?k=5"))
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual((response.json?["items"] as? [[String: Any]])?.count, 5)
    }
}
