import Foundation
import XCTest

/// `unfold` as a person runs it: version, help, and configuration errors that stop the start.
final class CommandLineEndToEndTests: XCTestCase {
    func temporaryFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("unfold-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testVersionAndHelp() throws {
        let version = try runUnfold(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")
        let help = try runUnfold(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("serve"))
        let serveHelp = try runUnfold(["serve", "--help"])
        XCTAssertTrue(serveHelp.stdout.contains("--max-body-bytes"))
    }

    func testUnknownKeyInFileStopsTheStart() throws {
        let path = try temporaryFile(#"{"port": 8080, "max_bodybytes": 10}"#)
        let result = try runUnfold(["serve", "--config", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("unknown configuration key 'max_bodybytes' in \(path)"), result.stderr)
    }

    func testBadValueInFileNamesKeyAndFile() throws {
        let path = try temporaryFile(#"{"port": "eighty"}"#)
        let result = try runUnfold(["serve", "--config", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("bad value for 'port' in \(path)"), result.stderr)
    }

    func testBadValueInEnvironmentNamesTheVariable() throws {
        let result = try runUnfold(["serve", "--port", "0"], environment: ["UNFOLD_MAX_CONNECTIONS": "-5"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("bad value for 'max_connections' in environment variable UNFOLD_MAX_CONNECTIONS"), result.stderr)
    }

    func testBadFlagValueNamesTheFlag() throws {
        let result = try runUnfold(["serve", "--log-level", "loud"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("bad value for 'log_level' in flag --log-level"), result.stderr)
    }

    func testUnknownEventLoopNamesTheKey() throws {
        let result = try runUnfold(["serve", "--port", "0", "--event-loop", "kqueue"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("'event_loop'") && result.stderr.contains("--event-loop"), result.stderr)
    }

    func testMissingConfigFileIsReported() throws {
        let result = try runUnfold(["serve", "--config", "/nonexistent/unfold.json"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("cannot read configuration file /nonexistent/unfold.json"), result.stderr)
    }

    /// Flags beat the environment, which beats the file.
    func testOverrideOrder() throws {
        let path = try temporaryFile(#"{"port": 1, "max_header_count": 7, "log_level": "error"}"#)
        let server = try ServerProcess(["--config", path, "--log-level", "debug"], environment: ["UNFOLD_MAX_HEADER_COUNT": "3", "UNFOLD_PORT": "2"])
        let c = try RawClient(port: server.port)
        try c.send(RawClient.get("/healthz", "A: 1\r\nB: 2\r\n"))
        XCTAssertEqual(try c.readResponse().status, 200, "Host, A and B are 3 fields")
        let d = try RawClient(port: server.port)
        try d.send(RawClient.get("/healthz", "A: 1\r\nB: 2\r\nC: 3\r\n"))
        XCTAssertEqual(try d.readResponse().status, 431, "the environment's 3 beat the file's 7")
        XCTAssertTrue(server.waitForLog("level=info msg=request"), "the flag's debug level beat the file's error")
    }

    func testTheShippedConfigurationIsValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let server = try ServerProcess(["--config", root.appendingPathComponent("Config/unfold.json").path])
        let c = try RawClient(port: server.port)
        try c.send(RawClient.get("/healthz"))
        XCTAssertEqual(try c.readResponse().status, 200)
    }
}

/// The training tools as a person runs them.
final class TrainingCommandLineTests: XCTestCase {
    func testTrainEvaluateInspect() throws {
        let work = NSTemporaryDirectory() + "unfold-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "200", "--items", "80", "--interactions", "4000", "--out", work + "/d.tsv.gz"]).status, 0)
        XCTAssertEqual(try runUnfold(["split", "--data", work + "/d.tsv.gz", "--method", "leave-k-out", "--k", "2", "--train-out", work + "/tr.tsv", "--test-out", work + "/te.tsv"]).status, 0)
        let train = try runUnfold(["train", "--data", work + "/tr.tsv", "--test", work + "/te.tsv", "--out", work + "/s", "--factors", "8", "--iterations", "3",
                                   "--solver", "cg", "--progress", "json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let lines = train.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.filter { $0["epoch"] != nil }.map { $0["epochs"] as? Int }, [3, 3, 3], "one JSON line per iteration")
        let done = try XCTUnwrap(lines.last)
        XCTAssertEqual(done["phase"] as? String, "done")
        let snapshot = try XCTUnwrap(done["snapshot"] as? String)
        let ndcg = try XCTUnwrap((done["evaluation"] as? [String: Double])?["ndcg@10"])

        let evaluate = try runUnfold(["evaluate", "--snapshot", snapshot, "--train", work + "/tr.tsv", "--test", work + "/te.tsv"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let metrics = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((metrics["model"] as? [String: Double])?["ndcg@10"] ?? -1, ndcg, accuracy: 1e-9, "evaluate agrees with the metadata")
        XCTAssertNotNil((metrics["popularity"] as? [String: Double])?["ndcg@10"])
        // Every per-user metric carries a 95% bootstrap interval around its mean.
        for name in ["precision@10", "recall@10", "ndcg@10", "map@10"] {
            let interval = try XCTUnwrap((metrics["intervals"] as? [String: [Double]])?[name], name)
            let value = try XCTUnwrap((metrics["model"] as? [String: Double])?[name])
            XCTAssertTrue(interval[0] <= value && value <= interval[1] && interval[0] < interval[1], "\(name): \(value) in \(interval)")
        }
        // A snapshot compared with itself differs by exactly nothing.
        let same = try runUnfold(["evaluate", "--snapshot", snapshot, "--train", work + "/tr.tsv", "--test", work + "/te.tsv", "--compare", snapshot])
        let comparison = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(same.stdout.utf8)) as? [String: Any])?["comparison"] as? [String: Any])
        let ndcgDifference = try XCTUnwrap(comparison["ndcg@10"] as? [String: Any])
        XCTAssertEqual(ndcgDifference["difference"] as? Double, 0)
        XCTAssertEqual(ndcgDifference["interval"] as? [Double], [0, 0])

        let inspect = try runUnfold(["inspect", snapshot])
        XCTAssertEqual(inspect.status, 0)
        XCTAssertTrue(inspect.stdout.contains("\"checks\" : \"passed\""))
        XCTAssertTrue(inspect.stdout.contains("\"stable_rank\""))
    }

    /// The strong-generalization protocol as a person runs it: whole users held out, their
    /// interactions split into a fold-in and a scored part, a model trained on the others,
    /// `unfold evaluate --protocol strong`; and `unfold train --tune` with a fixed number of
    /// configurations records its search in the snapshot.
    func testStrongGeneralizationAndTuneFromTheCommandLine() throws {
        let work = NSTemporaryDirectory() + "unfold-strong-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        func path(_ name: String) -> String { work + "/" + name }
        XCTAssertEqual(try runUnfold(["generate", "--users", "400", "--items", "100", "--interactions", "12000", "--groups", "4", "--seed", "5", "--out", path("d.tsv")]).status, 0)
        for (method, input, outputs) in [("users", "d.tsv", ("tr.tsv", "users.tsv")), ("random-per-user", "users.tsv", ("in.tsv", "out.tsv"))] {
            let split = try runUnfold(["split", "--data", path(input), "--method", method, "--test-fraction", "0.2", "--train-out", path(outputs.0), "--test-out", path(outputs.1)])
            XCTAssertEqual(split.status, 0, split.stderr)
        }
        func users(_ name: String) throws -> Set<String> {
            Set(try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: "\t")[0]) })
        }
        XCTAssertEqual(try users("users.tsv").count, 80)
        XCTAssertTrue(try users("users.tsv").isDisjoint(with: try users("tr.tsv")))
        XCTAssertEqual(try users("in.tsv"), try users("users.tsv"), "every held-out user folds something in")

        let train = try runUnfold(["train", "--data", path("tr.tsv"), "--out", path("s"), "--factors", "8", "--iterations", "9", "--tune", "--tune-trials", "4",
                                   "--tune-budget", "2m", "--progress", "json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let lines = train.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.filter { $0["trial"] != nil }.count, 4 + 2 + 1, "a progress line per trial")
        let snapshot = try XCTUnwrap(lines.last?["snapshot"] as? String)
        let inspect = try runUnfold(["inspect", snapshot])
        XCTAssertTrue(inspect.stdout.contains("\"tuning\""), inspect.stdout)

        let evaluate = try runUnfold(["evaluate", "--protocol", "strong", "--snapshot", snapshot, "--train", path("in.tsv"), "--test", path("out.tsv")])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["protocol"] as? String, "strong")
        let model = try XCTUnwrap(report["model"] as? [String: Double]), popularity = try XCTUnwrap(report["popularity"] as? [String: Double])
        // Held-out users whose scored items all repeat their fold-in items are not counted.
        XCTAssertTrue((40...80).contains(Int(model["users"] ?? 0)), "\(model)")
        for name in ["recall@20", "recall@50", "ndcg@100"] {
            let value = try XCTUnwrap(model[name], name)
            let interval = try XCTUnwrap((report["intervals"] as? [String: [Double]])?[name], name)
            XCTAssertTrue(interval[0] <= value && value <= interval[1], "\(name): \(value) in \(interval)")
            XCTAssertGreaterThan(value, try XCTUnwrap(popularity[name]), "\(name): planted groups beat popularity for users the model never saw")
        }
        let bad = try runUnfold(["train", "--data", path("tr.tsv"), "--out", path("s"), "--tune-budget", "soon"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--tune-budget 'soon' is not a duration"), bad.stderr)
    }

    func testMFSGDSnapshotIsServedWithFoldingInItsMetadata() throws {
        let work = NSTemporaryDirectory() + "unfold-sgd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "300", "--items", "90", "--interactions", "6000", "--groups", "3",
                                      "--out", work + "/d.tsv", "--groups-out", work + "/g.tsv"]).status, 0)
        let train = try runUnfold(["train", "--model", "mf-sgd", "--loss", "bpr", "--sampler", "popularity", "--data", work + "/d.tsv",
                                   "--groups", work + "/g.tsv", "--out", work + "/s", "--factors", "8", "--epochs", "4", "--progress", "json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let done = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(train.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        let snapshot = try XCTUnwrap(done["snapshot"] as? String)
        XCTAssertTrue(snapshot.contains("/mf-sgd-"))
        let inspect = try runUnfold(["inspect", snapshot])
        XCTAssertTrue(inspect.stdout.contains("\"kind\" : \"mf-sgd\""), inspect.stdout)
        for key in ["\"folding@10\"", "\"folding_excess\"", "\"trained_users_folding@10\"", "\"stable_rank_items\""] {
            XCTAssertTrue(inspect.stdout.contains(key), "\(key) in \(inspect.stdout)")
        }
        // unfold evaluate reports folding when given the group labels.
        let evaluate = try runUnfold(["evaluate", "--snapshot", snapshot, "--train", work + "/d.tsv", "--test", work + "/d.tsv", "--groups", work + "/g.tsv"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        let metrics = try XCTUnwrap(report["model"] as? [String: Double])
        let rate = try XCTUnwrap(metrics["folding@10"])
        XCTAssertTrue(rate >= 0 && rate <= 1)
        XCTAssertNotNil(metrics["folding_excess"])
        let server = try ServerProcess(["--snapshots", work + "/s", "--default-model", "mf-sgd"])
        XCTAssertTrue(server.waitForLog("msg=\"model loaded\""))
        let c = try RawClient(port: server.port)
        let body = #"{"interactions":[{"item":"i0"},{"item":"i3"}],"k":5}"#
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json?["source"] as? String, "model")
        XCTAssertEqual((response.json?["model"] as? [String: Any])?["name"] as? String, "mf-sgd")
    }

    func testItem2VecSnapshotIsServedByMeanPooling() throws {
        let work = NSTemporaryDirectory() + "unfold-i2v-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "300", "--items", "60", "--interactions", "6000", "--groups", "3", "--out", work + "/d.tsv"]).status, 0)
        XCTAssertEqual(try runUnfold(["split", "--data", work + "/d.tsv", "--train-out", work + "/tr.tsv", "--test-out", work + "/te.tsv"]).status, 0)
        let train = try runUnfold(["train", "--model", "item2vec", "--data", work + "/tr.tsv", "--test", work + "/te.tsv", "--out", work + "/s",
                                   "--factors", "8", "--epochs", "3", "--negatives", "3", "--learning-rate", "0.025", "--walks", "2", "--progress", "json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let done = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(train.stdout.split(separator: "\n").last!.utf8)) as? [String: Any])
        let snapshot = try XCTUnwrap(done["snapshot"] as? String)
        XCTAssertNotNil((done["evaluation"] as? [String: Double])?["ndcg@10"])
        let evaluate = try runUnfold(["evaluate", "--snapshot", snapshot, "--train", work + "/tr.tsv", "--test", work + "/te.tsv"])
        XCTAssertEqual(evaluate.status, 0, evaluate.stderr)
        let server = try ServerProcess(["--snapshots", work + "/s", "--default-model", "item2vec"])
        XCTAssertTrue(server.waitForLog("msg=\"model loaded\""), server.log)
        let c = try RawClient(port: server.port)
        let body = #"{"interactions":[{"item":"i0","weight":2},{"item":"i3"}],"k":5}"#
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json?["source"] as? String, "model")
        XCTAssertEqual((response.json?["items"] as? [[String: Any]])?.count, 5)
        try c.send(RawClient.get("/v1/items/i0/similar?k=3&model=item2vec"))
        XCTAssertEqual(try c.readResponse().status, 200)
    }

    func testTrainReportsBadInput() throws {
        let work = NSTemporaryDirectory() + "unfold-bad-\(UUID().uuidString).tsv"
        try "user\titem\tweight\nu1\ti1\t1\nu2\ti2\tmany\n".write(toFile: work, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let bad = try runUnfold(["train", "--data", work, "--out", NSTemporaryDirectory() + "never"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("\(work):3: weight 'many' is not a non-negative number"), bad.stderr)
        let unknown = try runUnfold(["train", "--model", "bert", "--data", work])
        XCTAssertTrue(unknown.stderr.contains("model 'bert' is not available"), unknown.stderr)
        let badSampler = try runUnfold(["train", "--model", "mf-sgd", "--sampler", "magic", "--data", work])
        XCTAssertTrue(badSampler.stderr.contains("parameter 'sampler' must be one of none, uniform, popularity, hard, in-batch, got 'magic'"), badSampler.stderr)
        let unknownParameter = try runUnfold(["train", "--model", "wals", "--window", "3", "--data", work])
        XCTAssertTrue(unknownParameter.stderr.contains("unknown parameter 'window' for model kind 'wals'"), unknownParameter.stderr)
    }
}
