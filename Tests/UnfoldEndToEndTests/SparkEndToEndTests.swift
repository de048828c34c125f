import Foundation
import XCTest
import UnfoldData
import UnfoldModels
import UnfoldSnapshot
import UnfoldTraining

/// The Spark loop with real Spark in local mode: `POST /admin/retrain {"engine": "spark"}`
/// makes the server's trainer process run spark-submit of spark/unfold_als.py on the
/// MovieLens split, import the exchange directory and swap the model in; the served fold-in
/// then reproduces Spark's own user vectors. `make test` sets `UNFOLD_SPARK_SUBMIT` (from
/// spark/venv.sh: pyspark in .build/spark-venv and a Java runtime); without it the suite is skipped.
final class SparkEndToEndTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    var submit: String!
    var work: String!

    override func setUpWithError() throws {
        guard let submit = ProcessInfo.processInfo.environment["UNFOLD_SPARK_SUBMIT"], !submit.isEmpty else {
            throw XCTSkip("UNFOLD_SPARK_SUBMIT is not set (make test sets it from spark/venv.sh)")
        }
        self.submit = submit
        work = NSTemporaryDirectory() + "unfold-spark-e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let work { try? FileManager.default.removeItem(atPath: work) }
    }

    var train: String { Self.root + "/data/current/train.tsv" }
    var test: String { Self.root + "/data/current/test.tsv" }

    func server(exchange: String? = nil) throws -> ServerProcess {
        var arguments = ["--snapshots", work + "/snapshots", "--jobs", work + "/jobs", "--train-data", train, "--train-test", test,
                         "--snapshot-poll-seconds", "0.3", "--spark-submit", submit!, "--spark-master", "local[2]",
                         "--spark-job", Self.root + "/spark/unfold_als.py"]
        if let exchange { arguments += ["--spark-exchange", exchange] }
        return try ServerProcess(arguments, environment: [
            "UNFOLD_SPARK_ARGUMENTS": "--driver-memory 2g --conf spark.ui.enabled=false",
        ])
    }

    func call(_ server: ServerProcess, _ method: String, _ path: String, _ body: String = "") throws -> WireResponse {
        let c = try RawClient(port: server.port)
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func waitJob(_ server: ServerProcess, _ id: String, timeout: TimeInterval, until: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try call(server, "GET", "/admin/jobs/\(id)").json ?? [:]
            if until(last) { return last }
            usleep(200_000)
        }
        XCTFail("job \(id) did not reach the expected state: \(last)")
        return last
    }

    func finished(_ job: [String: Any]) -> Bool {
        ["succeeded", "failed", "cancelled", "interrupted"].contains(job["state"] as? String ?? "")
    }

    func startRetrain(_ server: ServerProcess, _ body: String) throws -> String {
        let response = try call(server, "POST", "/admin/retrain", body)
        XCTAssertEqual(response.status, 202, response.text)
        return try XCTUnwrap(response.json?["job"] as? String, response.text)
    }

    /// Train on MovieLens through the admin API with Spark, import, swap, recommend; then
    /// parity: every sampled training user's history, folded in by the served model, gives
    /// Spark's user vector to 1e-3 relative error, and the API's top 10 are Spark's.
    func testSparkRetrainImportSwapAndParity() throws {
        let exchange = work + "/exchange"
        let server = try server(exchange: exchange)
        let id = try startRetrain(server, #"{"model":"wals","engine":"spark","params":{"factors":16,"iterations":10,"regularization":0.05,"alpha":2,"seed":7}}"#)
        let job = try waitJob(server, id, timeout: 300, until: finished)
        XCTAssertEqual(job["state"] as? String, "succeeded", "\(job)")
        let evaluation = try XCTUnwrap(job["evaluation"] as? [String: Double], "\(job)")
        XCTAssertGreaterThan(evaluation["ndcg@10"] ?? 0, 0.1, "evaluated through serving: \(evaluation)")
        XCTAssertGreaterThan(evaluation["spark_ndcg@10"] ?? 0, 0.1, "Spark's own evaluation: \(evaluation)")
        XCTAssertTrue(server.waitForLog("msg=\"model activated\""), server.log)
        let version = try XCTUnwrap((job["snapshot_version"] as? NSNumber)?.uint64Value)
        let details = try call(server, "GET", "/admin/models/wals/versions/\(version)")
        let metadata = try XCTUnwrap(details.json?["metadata"] as? [String: Any], details.text)
        XCTAssertEqual((metadata["imported"] as? [String: Any])?["from"] as? String, "spark-als")
        XCTAssertEqual((metadata["recipe"] as? [String: Any])?["engine"] as? String, "spark")

        // The exchange directory (kept: spark_exchange is set) and the served snapshot.
        let x = try SparkExchange.read(exchange)
        XCTAssertEqual(x.metadata.hyperparameters.factors, 16)
        let users = try XCTUnwrap(x.userFactors)
        XCTAssertGreaterThanOrEqual(users.rows, 100)
        let snapshot = try Snapshot.open(path: try XCTUnwrap(job["snapshot"] as? String))
        guard case .foldIn(let foldIn) = snapshot.model.encoder else { return XCTFail("no fold-in") }
        XCTAssertEqual(foldIn.objective, .alsWR)
        let items = snapshot.model.items
        let index = Dictionary(uniqueKeysWithValues: items.ids.enumerated().map { ($1, Int32($0)) })
        let read = try InteractionReader().read(location: train).interactions
        var histories: [String: [(String, Float)]] = [:]
        let sampled = Set(x.userIDs)
        for k in 0..<read.count where sampled.contains(read.users[read.userIndex[k]]) {
            histories[read.users[read.userIndex[k]], default: []].append((read.items[read.itemIndex[k]], read.weights[k]))
        }
        let d = items.dimensions, table = items.matrix
        var worst = 0.0, agreeing = 0, apiChecked = 0
        for (u, user) in x.userIDs.enumerated() {
            let history = try XCTUnwrap(histories[user], user)
            var bag = ItemBag()
            for (item, weight) in history { bag.add(index[item]!, weight: weight) }
            bag.ordered = false
            let q = try XCTUnwrap(foldIn.encode(items: table, bag: bag))
            let spark = (0..<d).map { users[u, $0] }
            let norm = spark.reduce(0) { $0 + $1 * $1 }.squareRoot()
            worst = max(worst, Double(zip(q, spark).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / norm))
            // Top 10 by Spark's vector among the items the user has not seen, and through the API.
            let seen = Set(history.map(\.0))
            let expected = (0..<items.count).filter { !seen.contains(items.ids[$0]) }
                .map { i in (items.ids[i], (0..<d).reduce(Float(0)) { $0 + spark[$1] * table[i, $1] }) }
                .sorted { $0.1 > $1.1 }.prefix(10).map(\.0)
            if u < 40 {
                let posted = history.map { #"{"item":"\#($0.0)","weight":\#($0.1)}"# }.joined(separator: ",")
                let response = try call(server, "POST", "/v1/recommend", #"{"interactions":[\#(posted)],"k":10,"ordered":false}"#)
                XCTAssertEqual(response.status, 200, response.text)
                let served = (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                if served == expected { agreeing += 1 }
                apiChecked += 1
            }
        }
        XCTAssertLessThan(worst, 1e-3, "largest relative error of a folded-in user vector against Spark's")
        XCTAssertGreaterThanOrEqual(agreeing, apiChecked - 1, "the API's top 10 are Spark's (allowing one near-tie among \(apiChecked) users)")
        print("spark parity: \(x.userIDs.count) users, worst relative error \(worst); API top-10 identical for \(agreeing)/\(apiChecked)")

        // The same exchange directory published over HTTP and imported by hand: the same
        // model, so the same held-out numbers as the job's import; a missing one is a clear error.
        let files = try TestHTTPServer { path, _ in
            let name = String(path.dropFirst("/models/run-1/".count))
            guard path.hasPrefix("/models/run-1/"), !name.contains("/"), let data = FileManager.default.contents(atPath: exchange + "/" + name) else {
                return .respond(status: 404, headers: [], body: Array("not found".utf8))
            }
            return .respond(status: 200, headers: [], body: [UInt8](data))
        }
        let imported = try runUnfold(["import", "--from", "spark-als", "http://127.0.0.1:\(files.port)/models/run-1", "--out", work + "/imported",
                                      "--name", "viahttp", "--data", train, "--test", test, "--progress", "text"])
        XCTAssertEqual(imported.status, 0, imported.stderr)
        let copy = try Snapshot.open(path: work + "/imported/" + XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: work + "/imported").first { $0.hasSuffix(".unfold") }))
        XCTAssertEqual(copy.model.metadata.evaluation["ndcg@10"] ?? -1, evaluation["ndcg@10"] ?? -2, accuracy: 1e-9)
        XCTAssertEqual(copy.model.items.ids, items.ids)
        let missing = try runUnfold(["import", "--from", "spark-als", "http://127.0.0.1:\(files.port)/models/run-2", "--out", work + "/imported"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("404"), missing.stderr)
    }

    /// A Spark job is cancelled and timed out like a local one, and Spark goes with it.
    func testSparkJobCancelAndTimeLimit() throws {
        let server = try server()
        let id = try startRetrain(server, #"{"model":"wals","engine":"spark","params":{"factors":8,"iterations":200}}"#)
        let running = try waitJob(server, id, timeout: 60) { ($0["state"] as? String) == "running" && (($0["progress"] as? [String: Any])?["detail"] as? String)?.contains("spark") == true }
        let pid = try XCTUnwrap((running["pid"] as? NSNumber)?.int32Value)
        XCTAssertEqual(try call(server, "DELETE", "/admin/jobs/\(id)").status, 202)
        let cancelled = try waitJob(server, id, timeout: 30, until: finished)
        XCTAssertEqual(cancelled["state"] as? String, "cancelled")
        XCTAssertTrue(groupGone(pid), "spark-submit and its JVM left running in the trainer's process group")

        let limited = try startRetrain(server, #"{"model":"wals","engine":"spark","params":{"factors":8,"iterations":200},"time_limit_seconds":4}"#)
        let timedOut = try waitJob(server, limited, timeout: 40, until: finished)
        XCTAssertEqual(timedOut["state"] as? String, "failed")
        XCTAssertEqual(timedOut["error"] as? String, "time limit of 4 s exceeded")
        XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: work + "/snapshots")) ?? []).filter { $0.hasSuffix(".unfold") }, [])

        // What Spark cannot train is refused before anything starts.
        let softmax = try call(server, "POST", "/admin/retrain", #"{"model":"softmax","engine":"spark"}"#)
        XCTAssertEqual(softmax.status, 400)
        XCTAssertTrue(softmax.text.contains("engine spark trains wals"), softmax.text)
        let tune = try call(server, "POST", "/admin/retrain", #"{"model":"wals","engine":"spark","tune":true}"#)
        XCTAssertEqual(tune.status, 400)
        XCTAssertTrue(tune.text.contains("tune is not available with engine spark"), tune.text)
        let unknown = try call(server, "POST", "/admin/retrain", #"{"engine":"flink"}"#)
        XCTAssertEqual(unknown.status, 400)
        XCTAssertTrue(unknown.text.contains("unknown engine 'flink'"), unknown.text)
    }

    /// Whether the process group is empty within a few seconds.
    func groupGone(_ pgid: Int32) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if kill(-pgid, 0) != 0 && errno == ESRCH { return true }
            usleep(100_000)
        }
        return false
    }
}
