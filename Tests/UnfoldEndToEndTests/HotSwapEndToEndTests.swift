import Foundation
import XCTest

/// Hot swap, rollback, the promotion gate, retention and admin auth on the real binary,
/// with snapshots written by real `unfold train` processes.
final class HotSwapEndToEndTests: XCTestCase {
    nonisolated(unsafe) static var work: String!

    static func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override class func setUp() {
        work = NSTemporaryDirectory() + "unfold-swap-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let generate = try! runUnfold(["generate", "--users", "300", "--items", "120", "--interactions", "6000", "--groups", "3", "--seed", "9", "--out", path("data.tsv")])
        precondition(generate.status == 0, generate.stderr)
        let split = try! runUnfold(["split", "--data", path("data.tsv"), "--train-out", path("train.tsv"), "--test-out", path("test.tsv")])
        precondition(split.status == 0, split.stderr)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    /// Trains into `directory` and returns the new version.
    @discardableResult
    func train(into directory: String, seed: Int, extra: [String] = []) throws -> UInt64 {
        let result = try runUnfold(["train", "--data", Self.path("train.tsv"), "--out", directory, "--factors", "16", "--iterations", "4",
                                    "--neighbours", "5", "--seed", String(seed), "--progress", "json"] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        let done = result.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return (done?["version"] as? NSNumber)?.uint64Value ?? 0
    }

    func freshDirectory() throws -> String {
        let directory = Self.path("snapshots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static let body = #"{"interactions":[{"item":"i0"},{"item":"i3"},{"item":"i6"}],"k":5}"#

    func recommendVersion(_ client: RawClient) throws -> (Int, UInt64?) { try swapProbe(client) }

    func waitForVersion(_ server: ServerProcess, _ version: UInt64, timeout: TimeInterval = 10) throws -> Bool {
        let client = try RawClient(port: server.port)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try recommendVersion(client).1 == version { return true }
            usleep(50_000)
        }
        return false
    }

    func admin(_ server: ServerProcess, _ method: String, _ path: String, body: String = "", token: String? = nil) throws -> WireResponse {
        let c = try RawClient(port: server.port)
        let auth = token.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        try c.send("\(method) \(path) HTTP/1.1\r\nHost: t\r\n\(auth)Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    /// A client loop sends recommend requests while three trainer processes finish and
    /// their snapshots are swapped in: not one request fails, and the version moves on.
    func testSwapUnderLoad() throws {
        let directory = try freshDirectory()
        let first = try train(into: directory, seed: 1)
        let server = try ServerProcess(["--snapshots", directory, "--snapshot-poll-seconds", "0.5"])
        XCTAssertTrue(try waitForVersion(server, first))

        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var ok = 0, failed = 0, versions = Set<UInt64>()
            var stop = false
        }
        let tally = Tally()
        let port = server.port
        let clients = (0..<2).map { _ in
            Thread {
                guard let client = try? RawClient(port: port) else { tally.lock.withLock { tally.failed += 1 }; return }
                while !tally.lock.withLock({ tally.stop }) {
                    let outcome = try? swapProbe(client)
                    tally.lock.withLock {
                        if outcome?.0 == 200, let v = outcome?.1 { tally.ok += 1; tally.versions.insert(v) } else { tally.failed += 1 }
                    }
                }
            }
        }
        clients.forEach { $0.start() }
        var trained = [first]
        for seed in 2...4 { trained.append(try train(into: directory, seed: seed)) }
        XCTAssertTrue(try waitForVersion(server, trained.last!))
        XCTAssertTrue(waitUntil(timeout: 120) { tally.lock.withLock { tally.ok + tally.failed } >= 5000 }, "5000 requests within 2 minutes")
        tally.lock.withLock { tally.stop = true }
        usleep(200_000)
        tally.lock.withLock {
            XCTAssertEqual(tally.failed, 0)
            XCTAssertGreaterThanOrEqual(tally.ok, 5000)
            XCTAssertTrue(tally.versions.contains(first))
            XCTAssertTrue(tally.versions.contains(trained.last!))
            XCTAssertGreaterThanOrEqual(tally.versions.count, 2)
        }
        XCTAssertEqual(server.log.components(separatedBy: "msg=\"model activated\"").count - 1, 4, server.log)
    }

    func testACorruptSnapshotDroppedInIsRejectedAndTheActiveModelStays() throws {
        let directory = try freshDirectory()
        let version = try train(into: directory, seed: 1)
        let server = try ServerProcess(["--snapshots", directory, "--snapshot-poll-seconds", "0.5"])
        XCTAssertTrue(try waitForVersion(server, version))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/wals-\(version).unfold"))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: directory + "/.incoming"))
        XCTAssertEqual(rename(directory + "/.incoming", directory + "/wals-\(version + 1000).unfold"), 0)
        XCTAssertTrue(server.waitForLog("msg=\"snapshot rejected\""), server.log)
        XCTAssertTrue(server.log.contains("wals-\(version + 1000).unfold"))
        XCTAssertTrue(server.log.contains("check crc failed"), server.log)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).1, version)
        let models = try admin(server, "GET", "/admin/models")
        let listed = ((models.json?["models"] as? [[String: Any]])?.first?["versions"] as? [[String: Any]]) ?? []
        XCTAssertEqual(listed.first { ($0["version"] as? NSNumber)?.uint64Value == version + 1000 }?["state"] as? String, "rejected")
    }

    func testRollbackAndRollForward() throws {
        let directory = try freshDirectory()
        let old = try train(into: directory, seed: 1)
        let new = try train(into: directory, seed: 2)
        let server = try ServerProcess(["--snapshots", directory])
        XCTAssertTrue(try waitForVersion(server, new))
        let back = try admin(server, "POST", "/admin/models/wals/activate", body: "{\"version\":\(old)}")
        XCTAssertEqual(back.status, 200, back.text)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).1, old)
        XCTAssertEqual(try admin(server, "POST", "/admin/models/wals/activate", body: "{\"version\":\(new)}").status, 200)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).1, new)
        XCTAssertEqual(try admin(server, "POST", "/admin/models/wals/activate", body: #"{"version":12345}"#).errorCode, "version_not_found")
        XCTAssertEqual(try admin(server, "POST", "/admin/models/nope/activate", body: #"{"version":1}"#).errorCode, "model_not_found")
        XCTAssertEqual(try admin(server, "POST", "/admin/models/wals/activate", body: #"{"version":"x"}"#).status, 400)
    }

    func testPromotionGateHoldsBackAWorseModel() throws {
        let directory = try freshDirectory()
        let good = try train(into: directory, seed: 1, extra: ["--test", Self.path("test.tsv"), "--factors", "16", "--iterations", "6"])
        let server = try ServerProcess(["--snapshots", directory, "--snapshot-poll-seconds", "0.3", "--promotion-tolerance", "0.001"])
        XCTAssertTrue(try waitForVersion(server, good))
        // One factor and one iteration: far worse held-out NDCG.
        let bad = try train(into: directory, seed: 2, extra: ["--test", Self.path("test.tsv"), "--factors", "1", "--iterations", "1", "--regularization", "100"])
        XCTAssertTrue(server.waitForLog("msg=\"snapshot held back\""), server.log)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).1, good)
        let listed = ((try admin(server, "GET", "/admin/models").json?["models"] as? [[String: Any]])?.first?["versions"] as? [[String: Any]]) ?? []
        let held = listed.first { ($0["version"] as? NSNumber)?.uint64Value == bad }
        XCTAssertEqual(held?["state"] as? String, "held_back")
        XCTAssertTrue((held?["reason"] as? String)?.contains("below the active version") == true)
        // An operator can still serve it on purpose.
        XCTAssertEqual(try admin(server, "POST", "/admin/models/wals/activate", body: "{\"version\":\(bad)}").status, 200)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).1, bad)
    }

    func testRetentionKeepsTheNewestVersions() throws {
        let directory = try freshDirectory()
        let server = try ServerProcess(["--snapshots", directory, "--snapshot-poll-seconds", "0.2", "--retain-versions", "2"])
        var versions: [UInt64] = []
        for seed in 1...3 {
            versions.append(try train(into: directory, seed: seed))
            XCTAssertTrue(try waitForVersion(server, versions.last!))
        }
        let deadline = Date().addingTimeInterval(5)
        var files: [String] = []
        repeat {
            files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".unfold") }.sorted()
            if files.count == 2 { break }
            usleep(100_000)
        } while Date() < deadline
        XCTAssertEqual(files, versions.suffix(2).map { "wals-\($0).unfold" })
    }

    func testTwoModelNamesSideBySide() throws {
        let directory = try freshDirectory()
        let main = try train(into: directory, seed: 1)
        let other = try train(into: directory, seed: 2, extra: ["--name", "wals-small", "--factors", "4"])
        let server = try ServerProcess(["--snapshots", directory])
        XCTAssertTrue(server.waitForLog("model=wals-small"))
        XCTAssertTrue(try waitForVersion(server, main))
        let c = try RawClient(port: server.port)
        let body = #"{"interactions":[{"item":"i0"}],"k":3,"model":"wals-small"}"#
        try c.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let model = try c.readResponse().json?["model"] as? [String: Any]
        XCTAssertEqual(model?["name"] as? String, "wals-small")
        XCTAssertEqual((model?["version"] as? NSNumber)?.uint64Value, other)
        try c.send(RawClient.get("/v1/items/i0"))
        let models = try c.readResponse().json?["models"] as? [String: Any]
        XCTAssertEqual(Set(models?.keys.map { $0 } ?? []), ["wals", "wals-small"])
        let listed = try admin(server, "GET", "/admin/models").json?["models"] as? [[String: Any]]
        XCTAssertEqual(listed?.compactMap { $0["name"] as? String }, ["wals", "wals-small"])
    }

    func testAdminAuthWithAToken() throws {
        let directory = try freshDirectory()
        try train(into: directory, seed: 1)
        let server = try ServerProcess(["--snapshots", directory, "--admin-token", "s3cret-token"])
        let none = try admin(server, "GET", "/admin/models")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.header("WWW-Authenticate"), #"Bearer realm="unfold-admin""#)
        XCTAssertEqual(try admin(server, "GET", "/admin/models", token: "wrong").status, 401)
        XCTAssertEqual(try admin(server, "GET", "/admin/models", token: "s3cret-tokenX").status, 401)
        XCTAssertEqual(try admin(server, "GET", "/admin/models", token: "s3cret-token").status, 200)
        XCTAssertEqual(try recommendVersion(try RawClient(port: server.port)).0, 200, "public routes need no token")
        XCTAssertFalse(server.log.contains("no admin token configured"))

        let open = try ServerProcess(["--snapshots", directory])
        XCTAssertEqual(try admin(open, "GET", "/admin/models").status, 200, "loopback-only mode answers loopback clients")
        XCTAssertTrue(open.log.contains("no admin token configured"))
    }
}

/// One recommend request; the status and the model version that answered.
func swapProbe(_ client: RawClient) throws -> (Int, UInt64?) {
    let body = HotSwapEndToEndTests.body
    try client.send("POST /v1/recommend HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
    let response = try client.readResponse()
    return (response.status, ((response.json?["model"] as? [String: Any])?["version"] as? NSNumber)?.uint64Value)
}
