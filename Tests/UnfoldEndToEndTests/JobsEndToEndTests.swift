import Foundation
import XCTest

/// Training jobs run by the real server as separate `unfold train` processes.
final class JobsEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var work: String!

    static func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override class func setUp() {
        work = NSTemporaryDirectory() + "unfold-jobs-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let generate = try! runUnfold(["generate", "--users", "300", "--items", "120", "--interactions", "6000", "--groups", "3", "--seed", "3", "--out", path("train.tsv")])
        precondition(generate.status == 0, generate.stderr)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    func server(_ name: String, extra: [String] = []) throws -> (ServerProcess, String) {
        let root = Self.path(name + "-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let server = try ServerProcess(["--snapshots", root + "/snapshots", "--jobs", root + "/jobs", "--train-data", Self.path("train.tsv"),
                                        "--snapshot-poll-seconds", "0.3"] + extra)
        return (server, root)
    }

    func call(_ server: ServerProcess, _ method: String, _ path: String, _ body: String = "") throws -> WireResponse {
        let c = try RawClient(port: server.port)
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func retrain(_ server: ServerProcess, _ body: String) throws -> String {
        let response = try call(server, "POST", "/admin/retrain", body)
        XCTAssertEqual(response.status, 202, response.text)
        return try XCTUnwrap(response.json?["job"] as? String)
    }

    /// Polls a job until `until` holds; returns the last record.
    func waitJob(_ server: ServerProcess, _ id: String, timeout: TimeInterval = 30, until: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try call(server, "GET", "/admin/jobs/\(id)").json ?? [:]
            if until(last) { return last }
            usleep(50_000)
        }
        XCTFail("job \(id) did not reach the expected state: \(last)")
        return last
    }

    func finished(_ job: [String: Any]) -> Bool {
        ["succeeded", "failed", "cancelled", "interrupted"].contains(job["state"] as? String ?? "")
    }

    func snapshots(_ root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots")) ?? []).filter { $0.hasSuffix(".unfold") }.sorted()
    }

    /// 5,000+ recommend requests while three retrains, started over the admin API, complete
    /// and swap in: zero failures, and the serving version moves on.
    func testRetrainsSwapInUnderLoad() throws {
        let (server, _) = try server("load")
        let first = try retrain(server, #"{"params":{"factors":8,"iterations":3,"seed":1}}"#)
        XCTAssertEqual(try waitJob(server, first, until: finished)["state"] as? String, "succeeded")
        XCTAssertTrue(server.waitForLog("msg=\"model activated\""))

        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var ok = 0, failed = 0, versions = Set<UInt64>(), stop = false
        }
        let tally = Tally()
        let port = server.port
        let loop = Thread {
            guard let client = try? RawClient(port: port) else { tally.lock.withLock { tally.failed += 1 }; return }
            while !tally.lock.withLock({ tally.stop }) {
                let outcome = try? swapProbe(client)
                tally.lock.withLock {
                    if outcome?.0 == 200, let v = outcome?.1 { tally.ok += 1; tally.versions.insert(v) } else { tally.failed += 1 }
                }
            }
        }
        loop.start()
        var produced: [UInt64] = []
        for seed in 2...4 {
            let id = try retrain(server, "{\"params\":{\"factors\":8,\"iterations\":3,\"seed\":\(seed)}}")
            let job = try waitJob(server, id, until: finished)
            XCTAssertEqual(job["state"] as? String, "succeeded", "\(job)")
            produced.append((job["snapshot_version"] as? NSNumber)?.uint64Value ?? 0)
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let done = tally.lock.withLock { tally.ok + tally.failed >= 5000 && tally.versions.contains(produced.last!) }
            if done { break }
            usleep(50_000)
        }
        tally.lock.withLock { tally.stop = true }
        usleep(200_000)
        tally.lock.withLock {
            XCTAssertEqual(tally.failed, 0)
            XCTAssertGreaterThanOrEqual(tally.ok, 5000)
            XCTAssertTrue(tally.versions.contains(produced.last!), "\(tally.versions) vs \(produced)")
            XCTAssertGreaterThanOrEqual(tally.versions.count, 2)
        }
    }

    /// kill -9 of the trainer in the middle of training: the job fails, the server keeps
    /// serving the previous model, no new snapshot appears.
    /// Every model kind retrains through the admin API, loads, and answers under its name.
    func testRetrainEveryModelKind() throws {
        let (server, _) = try server("kinds")
        let bodies = [
            "mf-sgd": #"{"model":"mf-sgd","params":{"factors":8,"epochs":2,"loss":"softmax","sampler":"in-batch","batch_size":32,"negatives":4}}"#,
            "item2vec": #"{"model":"item2vec","params":{"factors":8,"epochs":2,"window":3}}"#,
            "softmax": #"{"model":"softmax","params":{"factors":8,"epochs":2,"hidden":"16","negatives":10}}"#,
        ]
        for (kind, body) in bodies.sorted(by: { $0.key < $1.key }) {
            let id = try retrain(server, body)
            let job = try waitJob(server, id, until: finished)
            XCTAssertEqual(job["state"] as? String, "succeeded", "\(kind): \(job)")
            XCTAssertTrue(server.waitForLog("model=\(kind)"), server.log)
            let response = try call(server, "POST", "/v1/recommend", #"{"model":"\#(kind)","interactions":[{"item":"i1"},{"item":"i2"}],"k":5}"#)
            XCTAssertEqual(response.status, 200, "\(kind): \(response.text)")
            XCTAssertEqual((response.json?["model"] as? [String: Any])?["name"] as? String, kind)
            XCTAssertEqual(response.json?["source"] as? String, "model")
        }
        let bad = try call(server, "POST", "/admin/retrain", #"{"model":"softmax","params":{"user_features":"/no/such/file"}}"#)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("user_features '/no/such/file' is not a readable file"), bad.text)
    }

    func testKillNineOfTheTrainer() throws {
        let (server, root) = try server("kill")
        let first = try retrain(server, #"{"params":{"factors":8,"iterations":2}}"#)
        XCTAssertEqual(try waitJob(server, first, until: finished)["state"] as? String, "succeeded")
        XCTAssertTrue(server.waitForLog("msg=\"model activated\""))
        let before = snapshots(root)
        XCTAssertEqual(before.count, 1)

        let slow = try retrain(server, #"{"params":{"factors":8,"iterations":1000000}}"#)
        let running = try waitJob(server, slow) { (($0["progress"] as? [String: Any])?["epoch"] as? Int ?? 0) >= 2 }
        let pid = try XCTUnwrap((running["pid"] as? NSNumber)?.int32Value)
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let failed = try waitJob(server, slow, until: finished)
        XCTAssertEqual(failed["state"] as? String, "failed")
        XCTAssertEqual((failed["signal"] as? NSNumber)?.intValue, 9)
        XCTAssertTrue((failed["error"] as? String)?.contains("killed by signal 9") == true)
        XCTAssertEqual(try call(server, "GET", "/readyz").status, 200)
        XCTAssertEqual(try swapProbe(try RawClient(port: server.port)).0, 200)
        usleep(500_000)
        XCTAssertEqual(snapshots(root), before, "no new snapshot")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots"))?.filter { $0.hasPrefix(".tmp") } ?? []
        XCTAssertEqual(leftovers, [], "no temporary file either: the snapshot is written only at the end")
    }

    func testCancelConflictAndTimeLimit() throws {
        let (server, _) = try server("cancel")
        let slow = try retrain(server, #"{"params":{"factors":8,"iterations":1000000}}"#)
        _ = try waitJob(server, slow) { ($0["state"] as? String) == "running" && $0["progress"] != nil }
        let second = try call(server, "POST", "/admin/retrain", "{}")
        XCTAssertEqual(second.status, 409)
        XCTAssertEqual(second.errorCode, "conflict")
        XCTAssertEqual(try call(server, "DELETE", "/admin/jobs/\(slow)").status, 202)
        let cancelled = try waitJob(server, slow, until: finished)
        XCTAssertEqual(cancelled["state"] as? String, "cancelled")
        XCTAssertEqual(try call(server, "DELETE", "/admin/jobs/\(slow)").status, 409)
        XCTAssertEqual(try call(server, "DELETE", "/admin/jobs/nope").status, 404)

        let limited = try retrain(server, #"{"params":{"factors":8,"iterations":1000000},"time_limit_seconds":1}"#)
        let timedOut = try waitJob(server, limited, until: finished)
        XCTAssertEqual(timedOut["state"] as? String, "failed")
        XCTAssertEqual(timedOut["error"] as? String, "time limit of 1 s exceeded")
        let list = try call(server, "GET", "/admin/jobs").json?["jobs"] as? [[String: Any]]
        XCTAssertEqual(list?.compactMap { $0["id"] as? String }, [limited, slow], "newest first")
    }

    /// `"tune"` in a retrain: the trainer process searches, every trial lands in the job record
    /// and the snapshot's metadata, the chosen parameters become the recipe; a tuning job
    /// honours cancel and the time limit like any other.
    func testTuneThroughTheAdminAPI() throws {
        let (server, _) = try server("tune")
        let id = try retrain(server, #"{"model":"wals","params":{"factors":8,"iterations":9},"tune":{"trials":6,"budget_seconds":120}}"#)
        let job = try waitJob(server, id, timeout: 60, until: finished)
        XCTAssertEqual(job["state"] as? String, "succeeded", "\(job)")
        let trials = try XCTUnwrap(job["trials"] as? [[String: Any]])
        // Rounds of 1, 3 and 9 iterations: 6 configurations, then 2, then 1.
        XCTAssertEqual(trials.count, 6 + 2 + 1, "\(trials)")
        XCTAssertEqual(trials.map { $0["epochs"] as? Int }, [1, 1, 1, 1, 1, 1, 3, 3, 9])
        XCTAssertEqual(trials.first?["configuration"] as? Int, 0)
        XCTAssertTrue(trials.allSatisfy { ($0["validation"] as? Double).map { $0 > 0 && $0 <= 1 } == true }, "\(trials)")
        XCTAssertTrue(server.waitForLog("msg=\"model activated\""), server.log)
        let version = try XCTUnwrap((job["snapshot_version"] as? NSNumber)?.uint64Value)
        let details = try call(server, "GET", "/admin/models/wals/versions/\(version)")
        let metadata = try XCTUnwrap(details.json?["metadata"] as? [String: Any], details.text)
        let tuning = try XCTUnwrap(metadata["tuning"] as? [String: Any], "\(metadata.keys)")
        XCTAssertEqual((tuning["trials"] as? [Any])?.count, 9)
        let chosen = try XCTUnwrap(tuning["chosen_parameters"] as? [String: Any])
        let recipe = try XCTUnwrap((metadata["recipe"] as? [String: Any])?["params"] as? [String: Any])
        for (name, value) in chosen { XCTAssertEqual("\(recipe[name]!)", "\(value)", "the recipe carries the chosen \(name)") }
        XCTAssertNil((metadata["recipe"] as? [String: Any])?["tune"], "the recipe retrains the choice, not the search")

        let slow = try retrain(server, #"{"model":"wals","params":{"factors":8,"iterations":100000},"tune":{"budget_seconds":600}}"#)
        _ = try waitJob(server, slow) { ($0["state"] as? String) == "running" && ($0["progress"] as? [String: Any])?["phase"] as? String == "tune" }
        XCTAssertEqual(try call(server, "DELETE", "/admin/jobs/\(slow)").status, 202)
        XCTAssertEqual(try waitJob(server, slow, until: finished)["state"] as? String, "cancelled")
        let limited = try retrain(server, #"{"model":"wals","params":{"factors":8,"iterations":100000},"tune":true,"time_limit_seconds":2}"#)
        let timedOut = try waitJob(server, limited, until: finished)
        XCTAssertEqual(timedOut["state"] as? String, "failed")
        XCTAssertEqual(timedOut["error"] as? String, "time limit of 2 s exceeded")

        for (body, message) in [(#"{"tune":{"budget":5}}"#, "unknown field 'tune.budget'"), (#"{"tune":"fast"}"#, "tune must be true, false or an object"),
                                (#"{"tune":{"trials":0}}"#, "tune trials must be within 1...10000"), (#"{"tune":{"budget_seconds":0}}"#, "tune budget_seconds must be within")] {
            let response = try call(server, "POST", "/admin/retrain", body)
            XCTAssertEqual(response.status, 400, body)
            XCTAssertTrue(response.text.contains(message), "\(body): \(response.text)")
        }
    }

    /// `retrain_every_minutes`: a retrain starts on its own on the schedule and its model is served.
    func testScheduledRetraining() throws {
        let (server, _) = try server("schedule", extra: ["--retrain-every-minutes", "0.02"])  // every 1.2 s
        XCTAssertTrue(server.waitForLog("scheduled retrain started", timeout: 10), server.log)
        XCTAssertTrue(server.waitForLog("msg=\"model activated\"", timeout: 30), server.log)
        let jobs = try call(server, "GET", "/admin/jobs").json?["jobs"] as? [[String: Any]] ?? []
        XCTAssertFalse(jobs.isEmpty)
        XCTAssertEqual(try call(server, "GET", "/readyz").status, 200)
    }

    func testBadRetrainRequests() throws {
        let (server, _) = try server("bad")
        let cases: [(String, String)] = [
            (#"{"params":{"factorz":3}}"#, "unknown parameter 'factorz'"),
            (#"{"params":{"factors":"many"}}"#, "parameter 'factors' must be a whole number"),
            (#"{"model":"bert"}"#, "unknown model kind 'bert'"),
            (#"{"data":{"source":"file","path":"/no/such/file.tsv"}}"#, "is not a readable file"),
            (#"{"data":{"source":"url"}}"#, "data.url must be an http, https or file URL"),
            (#"{"data":{"source":"ftp"}}"#, "data.source must be file, log or url"),
            (#"{"time_limit_seconds":-1}"#, "time_limit_seconds"),
            (#"{"schedule":1}"#, "unknown field 'schedule'"),
        ]
        for (body, message) in cases {
            let response = try call(server, "POST", "/admin/retrain", body)
            XCTAssertEqual(response.status, 400, body)
            XCTAssertTrue(response.text.contains(message), "\(body): \(response.text)")
        }
    }

    /// A job running when the server dies shows as `interrupted` after a restart.
    func testRestartMarksARunningJobInterrupted() throws {
        let (server, root) = try server("restart")
        let slow = try retrain(server, #"{"params":{"factors":8,"iterations":1000000}}"#)
        let running = try waitJob(server, slow) { ($0["progress"] as? [String: Any])?["epoch"] != nil }
        let trainer = (running["pid"] as? NSNumber)?.int32Value
        server.signal(SIGKILL)
        server.waitForExit(timeout: 5)
        if let trainer { kill(-trainer, SIGKILL) }
        let again = try ServerProcess(["--snapshots", root + "/snapshots", "--jobs", root + "/jobs", "--train-data", Self.path("train.tsv")])
        let job = try call(again, "GET", "/admin/jobs/\(slow)").json ?? [:]
        XCTAssertEqual(job["state"] as? String, "interrupted")
        XCTAssertTrue(again.log.contains("job interrupted by a restart"))
    }
}
