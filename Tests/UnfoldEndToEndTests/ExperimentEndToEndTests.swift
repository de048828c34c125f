import Foundation
import XCTest

/// A/B tests on the real binary: two arms serving different models, sticky assignment,
/// simulated users whose follow-up events favour one arm, outcomes with intervals, and the
/// definition surviving kill -9.
final class ExperimentEndToEndTests: XCTestCase {
    var work: String!

    func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "unfold-ab-\(UUID().uuidString)"
        try trainPlantedModel(in: work)
        let other = try runUnfold(["train", "--data", path("train.tsv"), "--out", path("snapshots"), "--name", "other", "--factors", "2",
                                   "--iterations", "1", "--progress", "none"])
        XCTAssertEqual(other.status, 0, other.stderr)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    func start() throws -> ServerProcess {
        let server = try ServerProcess(["--snapshots", path("snapshots"), "--interaction-log", path("state")])
        XCTAssertTrue(waitUntil(timeout: 20) { server.log.components(separatedBy: "msg=\"model loaded\"").count > 2 }, server.log)
        return server
    }

    func testArmsAreStickyAndHitRatesFollowTheSimulatedUsers() throws {
        var server: ServerProcess? = try start()
        let put = try call(server!, "PUT", "/admin/experiments/ranker", #"{"arms":[{"name":"a","model":"wals","weight":1},{"name":"b","model":"other","weight":1}],"default":true}"#)
        XCTAssertEqual(put.status, 200, put.text)
        XCTAssertEqual(try call(server!, "PUT", "/admin/experiments/bad", #"{"arms":[{"model":"nope"}]}"#).status, 400)

        // Simulated users: each asks once, then clicks one of the recommended items with a
        // probability that depends on the arm that answered (0.6 for a, 0.2 for b).
        var rng: UInt64 = 7
        func uniform() -> Double {
            rng = rng &+ 0x9E37_79B9_7F4A_7C15
            var z = rng
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        let probability = ["a": 0.6, "b": 0.2]
        var requests = ["a": 0, "b": 0], clicks = ["a": 0, "b": 0], armOf: [String: String] = [:]
        for n in 0..<400 {
            let user = "sim-\(n)"
            let answer = try call(server!, "POST", "/v1/recommend", #"{"user":"\#(user)","interactions":[{"item":"i\#(3 * (n % 20))"}],"k":5}"#)
            XCTAssertEqual(answer.status, 200, answer.text)
            let experiment = try XCTUnwrap(answer.json?["experiment"] as? [String: Any])
            XCTAssertEqual(experiment["name"] as? String, "ranker")
            let arm = try XCTUnwrap(experiment["arm"] as? String)
            XCTAssertEqual((answer.json?["model"] as? [String: Any])?["name"] as? String, arm == "a" ? "wals" : "other")
            armOf[user] = arm
            requests[arm]! += 1
            let shown = (answer.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            if uniform() < probability[arm]!, let item = shown.first {
                clicks[arm]! += 1
                XCTAssertEqual(try call(server!, "POST", "/v1/interactions", #"{"interactions":[{"user":"\#(user)","item":"\#(item)"}]}"#).status, 202)
            } else {
                // An event on an item the arm did not show is not a hit.
                XCTAssertEqual(try call(server!, "POST", "/v1/interactions", #"{"interactions":[{"user":"\#(user)","item":"unshown-\#(n)"}]}"#).status, 202)
            }
        }
        XCTAssertGreaterThan(requests["a"]!, 150)
        XCTAssertGreaterThan(requests["b"]!, 150)
        let report = try call(server!, "GET", "/admin/experiments/ranker")
        XCTAssertEqual(report.status, 200, report.text)
        let arms = try XCTUnwrap(report.json?["arms"] as? [[String: Any]])
        var intervals: [String: [Double]] = [:]
        for arm in arms {
            let name = try XCTUnwrap(arm["name"] as? String)
            XCTAssertEqual(arm["hits"] as? Int, clicks[name], name)
            XCTAssertEqual(arm["requests"] as? Int, requests[name]!, name)
            XCTAssertEqual(arm["hit_rate"] as? Double ?? -1, Double(clicks[name]!) / Double(requests[name]!), accuracy: 1e-12)
            let interval = try XCTUnwrap(arm["hit_rate_interval"] as? [Double])
            XCTAssertTrue(interval[0] <= probability[name]! && probability[name]! <= interval[1],
                          "\(name): \(interval) holds the simulated \(probability[name]!) (clicks \(clicks[name]!) of \(requests[name]!))")
            intervals[name] = interval
        }
        XCTAssertGreaterThan(intervals["a"]![0], intervals["b"]![1], "arm a's lists win, and the intervals say so")
        // Sticky: a user asking again lands in the same arm (and the user routes agree).
        for n in [0, 1, 2, 3, 57, 311] {
            let again = try call(server!, "POST", "/v1/recommend", #"{"user":"sim-\#(n)","interactions":[{"item":"i0"}]}"#)
            XCTAssertEqual((again.json?["experiment"] as? [String: Any])?["arm"] as? String, armOf["sim-\(n)"])
            let viaUser = try call(server!, "GET", "/v1/users/sim-\(n)/recommend")
            XCTAssertEqual((viaUser.json?["experiment"] as? [String: Any])?["arm"] as? String, armOf["sim-\(n)"])
        }

        XCTAssertTrue(try call(server!, "GET", "/metrics").text.contains("unfold_experiment_hits_total{experiment=\"ranker\",arm=\"a\"} \(clicks["a"]!)"))

        // The definition outlives kill -9.
        server!.signal(SIGKILL)
        XCTAssertNotNil(server!.waitForExit(timeout: 5))
        server = nil
        let restarted = try start()
        let after = try call(restarted, "POST", "/v1/recommend", #"{"user":"sim-0","interactions":[{"item":"i0"}]}"#)
        XCTAssertEqual((after.json?["experiment"] as? [String: Any])?["arm"] as? String, armOf["sim-0"])
        XCTAssertEqual(try call(restarted, "POST", "/v1/recommend", #"{"model":"wals","experiment":"ranker"}"#).status, 400)
        XCTAssertNil(try call(restarted, "POST", "/v1/recommend", #"{"model":"wals","interactions":[{"item":"i0"}]}"#).json?["experiment"], "a named model is outside the test")
        XCTAssertEqual(try call(restarted, "DELETE", "/admin/experiments/ranker").status, 200)
        XCTAssertNil(try call(restarted, "POST", "/v1/recommend", #"{"user":"sim-0","interactions":[{"item":"i0"}]}"#).json?["experiment"])
    }

    func testExperimentsFromTheConfigFile() throws {
        try #"[{"name":"from-config","arms":[{"name":"only","model":"other"}],"default":true}]"#.write(toFile: path("experiments.json"), atomically: true, encoding: .utf8)
        let server = try ServerProcess(["--snapshots", path("snapshots"), "--interaction-log", path("state"), "--experiments", path("experiments.json")])
        XCTAssertTrue(waitUntil(timeout: 20) { server.log.components(separatedBy: "msg=\"model loaded\"").count > 2 }, server.log)
        let answer = try call(server, "POST", "/v1/recommend", #"{"user":"x","interactions":[{"item":"i0"}]}"#)
        XCTAssertEqual((answer.json?["experiment"] as? [String: Any])?["name"] as? String, "from-config", answer.text)
        XCTAssertEqual((answer.json?["model"] as? [String: Any])?["name"] as? String, "other")
        // A bad file stops the start with the key and the reason.
        try #"[{"name":"broken","arms":[]}]"#.write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        let bad = try runUnfold(["serve", "--port", "0", "--snapshots", path("snapshots"), "--interaction-log", path("state2"), "--experiments", path("bad.json")])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("experiments") && bad.stderr.contains("arms must be an array of 1 to 16 arms"), bad.stderr)
    }
}

