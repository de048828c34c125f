import Foundation
import UnfoldData
import UnfoldSnapshot
import UnfoldTraining
import XCTest

/// Evaluation is serving: for every model kind, the evaluation the trainer writes into the
/// snapshot, `unfold evaluate`, and the real server answering `POST /v1/recommend` with each
/// test user's training interactions give the same top-10 lists and the same NDCG@10.
final class ConformanceEndToEndTests: XCTestCase {
    func testTrainingEvaluationUnfoldEvaluateAndTheServerAgreeForEveryKind() throws {
        let work = NSTemporaryDirectory() + "unfold-conformance-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "250", "--items", "150", "--interactions", "6000", "--groups", "3", "--seed", "11",
                                      "--out", path("data.tsv")]).status, 0)
        XCTAssertEqual(try runUnfold(["split", "--data", path("data.tsv"), "--method", "temporal", "--test-fraction", "0.2",
                                      "--train-out", path("train.tsv"), "--test-out", path("test.tsv")]).status, 0)
        let kinds: [(String, [String])] = [
            ("wals", ["--iterations", "4", "--regularization", "0.5"]),
            ("mf-sgd", ["--epochs", "3"]),
            ("softmax", ["--epochs", "2", "--hidden", "16", "--negatives", "20"]),
            ("item2vec", ["--epochs", "2"]),
        ]
        var metadataNDCG: [String: Double] = [:]
        for (kind, extra) in kinds {
            let train = try runUnfold(["train", "--model", kind, "--data", path("train.tsv"), "--test", path("test.tsv"), "--out", path("snapshots"),
                                       "--factors", "12", "--neighbours", "5", "--progress", "json"] + extra)
            XCTAssertEqual(train.status, 0, train.stderr)
            let done = try XCTUnwrap(train.stdout.split(separator: "\n").last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            metadataNDCG[kind] = try XCTUnwrap((done["evaluation"] as? [String: Double])?["ndcg@10"], kind)
        }
        let server = try ServerProcess(["--snapshots", path("snapshots")])
        defer {
            server.signal(SIGTERM)
            server.waitForExit(timeout: 10)
        }
        XCTAssertTrue(server.waitForLog("model=item2vec"), server.log)
        XCTAssertTrue(server.waitForLog("model=softmax"), server.log)

        let trainData = try InteractionReader().read(path: path("train.tsv")).interactions
        let testData = try InteractionReader().read(path: path("test.tsv")).interactions
        for (kind, _) in kinds {
            let snapshot = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: path("snapshots")).first { $0.hasPrefix(kind + "-") })
            let evaluate = try runUnfold(["evaluate", "--snapshot", path("snapshots/" + snapshot), "--train", path("train.tsv"), "--test", path("test.tsv"),
                                          "--lists", path("\(kind).jsonl")])
            XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
            let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
            let evaluateNDCG = try XCTUnwrap((metrics["model"] as? [String: Double])?["ndcg@10"])
            XCTAssertEqual(evaluateNDCG, metadataNDCG[kind]!, accuracy: 1e-6, "\(kind): unfold evaluate and the trainer's evaluation")
            var evaluated: [String: [String]] = [:]
            for line in try String(contentsOfFile: path("\(kind).jsonl"), encoding: .utf8).split(separator: "\n") {
                let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                evaluated[try XCTUnwrap(object["user"] as? String)] = try XCTUnwrap(object["items"] as? [String])
            }

            // Each test user's training row (in the model's item space, duplicates summed, in
            // time order) as the body of a recommend request; the lists it answers scored like `Evaluation`.
            XCTAssertFalse(evaluated.isEmpty)
            let modelItems = IDMap(try Snapshot.open(path: path("snapshots/" + snapshot)).model.items.ids)
            let train = Evaluation.matrix(trainData, users: trainData.users, items: modelItems, binary: false)
            let test = Evaluation.matrix(testData, users: trainData.users, items: modelItems, binary: true)
            var ndcg = 0.0, users = 0
            let client = try RawClient(port: server.port)
            for u in 0..<test.rows where test.rowCount(u) > 0 {
                // Oldest first (each item at its latest touch), as a caller posts a history.
                let row = Array(train.rowRange(u)).sorted { train.latest![$0] < train.latest![$1] }
                let body = row.map { #"{"item":"\#(modelItems[train.indices[$0]])","weight":\#(train.values[$0])}"# }.joined(separator: ",")
                let text = #"{"interactions":[\#(body)],"k":10,"model":"\#(kind)"}"#
                try client.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)")
                let response = try client.readResponse()
                XCTAssertEqual(response.status, 200, response.text)
                let served = (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                let user = trainData.users[Int32(u)]
                XCTAssertEqual(served, evaluated[user], "\(kind): user \(user)'s list from the server and from unfold evaluate")
                let relevant = Set(test.indices[test.rowRange(u)].map { modelItems[$0] })
                var dcg = 0.0
                for (j, id) in served.enumerated() where relevant.contains(id) { dcg += 1 / log2(Double(j + 2)) }
                let idcg = (0..<min(10, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
                ndcg += dcg / idcg
                users += 1
            }
            XCTAssertGreaterThan(users, 100)
            XCTAssertEqual(ndcg / Double(users), metadataNDCG[kind]!, accuracy: 1e-6, "\(kind): NDCG@10 through HTTP and the trainer's evaluation")
        }

        // The WALS model weighs a history's latest items more: reversing a history changes
        // the answer, unless the request says the interactions are a set.
        let client = try RawClient(port: server.port)
        func top(_ items: [Int], ordered: Bool?) throws -> [String] {
            let list = items.map { #"{"item":"i\#($0)"}"# }.joined(separator: ",")
            let text = #"{"interactions":[\#(list)],"k":10,"model":"wals"\#(ordered.map { ",\"ordered\":\($0)" } ?? "")}"#
            try client.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(text.utf8.count)\r\n\r\n\(text)")
            let response = try client.readResponse()
            XCTAssertEqual(response.status, 200, response.text)
            return (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        }
        let history = [1, 4, 7, 10, 13, 2, 5, 8, 11, 14]
        XCTAssertNotEqual(try top(history, ordered: nil), try top(history.reversed(), ordered: nil), "recency: the order matters")
        XCTAssertEqual(try top(history, ordered: true), try top(history, ordered: nil))
        XCTAssertEqual(try top(history, ordered: false), try top(history.reversed(), ordered: false), "a set: the order does not")
        let bad = #"{"interactions":[{"item":"i1"}],"ordered":"yes"}"#
        try client.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(bad.utf8.count)\r\n\r\n\(bad)")
        let refused = try client.readResponse()
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue(refused.text.contains("ordered must be a boolean"), refused.text)
    }
}
