import Foundation
import XCTest

/// What the server remembers, on the real binary: users' histories from acknowledged
/// interactions, typed feedback and dislikes, erasure (in memory, after kill -9, and in
/// every later training run), and the optional API token.
final class UserStateEndToEndTests: XCTestCase {
    var work: String!

    func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "unfold-users-\(UUID().uuidString)"
        try trainPlantedModel(in: work)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    func start(_ extra: [String] = []) throws -> ServerProcess {
        let server = try ServerProcess(["--snapshots", path("snapshots"), "--interaction-log", path("log"), "--jobs", path("jobs"),
                                        "--train-data", path("train.tsv"), "--snapshot-poll-seconds", "0.3"] + extra)
        XCTAssertTrue(server.waitForLog("msg=\"model loaded\""), server.log)
        return server
    }

    func ingest(_ server: ServerProcess, _ user: String, _ items: [String], type: String? = nil, at time: Int = 1_800_000_000) throws {
        let records = items.enumerated().map { k, item in
            #"{"user":"\#(user)","item":"\#(item)","timestamp":\#(time + k)"# + (type.map { #","type":"\#($0)""# } ?? "") + "}"
        }
        let response = try call(server, "POST", "/v1/interactions", "{\"interactions\":[" + records.joined(separator: ",") + "]}")
        XCTAssertEqual(response.status, 202, response.text)
    }

    func ids(_ response: WireResponse) -> [String] {
        (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    func group(_ id: String) -> Int { Int(id.dropFirst())! % 3 }

    func testAnAcknowledgedEventChangesTheVeryNextRecommendation() throws {
        let server = try start()
        // Never seen: the popularity answer, not an error; and no stored user.
        let cold = try call(server, "GET", "/v1/users/alice/recommend?k=5")
        XCTAssertEqual(cold.status, 200, cold.text)
        XCTAssertEqual(cold.json?["source"] as? String, "popular")
        XCTAssertEqual(cold.json?["user"] as? String, "alice")
        XCTAssertEqual(try call(server, "GET", "/v1/users/alice").errorCode, "user_not_found")

        try ingest(server, "alice", ["i0", "i3", "i6", "i9", "i12"])
        let first = try call(server, "GET", "/v1/users/alice/recommend?k=10")
        XCTAssertEqual(first.json?["source"] as? String, "model", first.text)
        let firstIDs = ids(first)
        XCTAssertEqual(firstIDs.count, 10)
        XCTAssertGreaterThanOrEqual(firstIDs.filter { group($0) == 0 }.count, 8, "a group-0 history gets group-0 items: \(firstIDs)")
        XCTAssertTrue(Set(firstIDs).isDisjoint(with: ["i0", "i3", "i6", "i9", "i12"]), "seen items are left out")
        // The same answer as the stateless route with the same history.
        let stateless = try call(server, "POST", "/v1/recommend", #"{"interactions":[{"item":"i0"},{"item":"i3"},{"item":"i6"},{"item":"i9"},{"item":"i12"}],"k":10}"#)
        XCTAssertEqual(ids(stateless), firstIDs)

        // One more acknowledged batch, of another group, moves the very next answer.
        try ingest(server, "alice", ["i1", "i4", "i7", "i10", "i13", "i16", "i19", "i22"], type: "purchase", at: 1_800_000_100)
        let second = try call(server, "GET", "/v1/users/alice/recommend?k=10")
        XCTAssertNotEqual(ids(second), firstIDs)
        XCTAssertTrue(ids(second).contains { group($0) == 1 }, "\(ids(second))")

        // A session's interactions are added to the stored ones.
        let session = try call(server, "POST", "/v1/users/alice/recommend", #"{"k":10,"interactions":[{"item":"i2"},{"item":"i5"}],"categories":null}"#)
        XCTAssertEqual(session.status, 200, session.text)
        XCTAssertFalse(ids(session).contains("i2") || ids(session).contains("i5"))

        // Explanations: fold-in's contributions of the stored history sum to each score.
        try ingest(server, "zoe", ["i0", "i3", "i6"])
        let explained = try call(server, "GET", "/v1/users/zoe/recommend?k=5&explain=true")
        XCTAssertEqual(explained.json?["explanation"] as? String, "exact", explained.text)
        for item in try XCTUnwrap(explained.json?["items"] as? [[String: Any]]) {
            let because = try XCTUnwrap(item["because"] as? [[String: Any]])
            XCTAssertEqual(because.count, 3)
            let total = because.compactMap { $0["contribution"] as? Double }.reduce(0, +)
            XCTAssertEqual(total, item["score"] as! Double, accuracy: 1e-3 * max(1, abs(total)), "\(item)")
        }
        XCTAssertEqual(try call(server, "GET", "/v1/users/zoe/recommend?explain=maybe").status, 400)

        let user = try call(server, "GET", "/v1/users/alice")
        XCTAssertEqual(user.status, 200, user.text)
        XCTAssertEqual(user.json?["events"] as? Int, 13)
        XCTAssertEqual(user.json?["first_seen"] as? Int, 1_800_000_000)
        XCTAssertEqual(user.json?["last_seen"] as? Int, 1_800_000_107)
        let recent = try XCTUnwrap(user.json?["recent"] as? [[String: Any]])
        XCTAssertEqual(recent.first?["item"] as? String, "i22", "newest first")
        XCTAssertEqual(recent.first?["type"] as? String, "purchase")
        XCTAssertEqual(recent.first?["weight"] as? Int, 5, "purchase weighs 5 by default")
    }

    func testDislikedItemsAreNeverRecommended() throws {
        let server = try start()
        try ingest(server, "bob", ["i0", "i3", "i6", "i9"])
        let before = ids(try call(server, "GET", "/v1/users/bob/recommend?k=5"))
        let top = try XCTUnwrap(before.first)
        try ingest(server, "bob", [top], type: "dislike", at: 1_800_000_050)
        for body in [#"{"k":20}"#, #"{"k":20,"exclude_seen":false}"#] {
            let after = try call(server, "POST", "/v1/users/bob/recommend", body)
            XCTAssertEqual(after.status, 200, after.text)
            XCTAssertFalse(ids(after).contains(top), "\(body): the disliked \(top) is back: \(ids(after))")
        }
        // A liked item shown again with exclude_seen false, a disliked one never.
        XCTAssertTrue(ids(try call(server, "POST", "/v1/users/bob/recommend", #"{"k":20,"exclude_seen":false}"#)).contains { ["i0", "i3", "i6", "i9"].contains($0) })
        // The stateless route takes types too.
        let stateless = try call(server, "POST", "/v1/recommend",
                                 #"{"interactions":[{"item":"i0"},{"item":"i3"},{"item":"\#(top)","type":"dislike"}],"k":30,"exclude_seen":false}"#)
        XCTAssertEqual(stateless.status, 200, stateless.text)
        XCTAssertFalse(ids(stateless).contains(top))
        // An unknown type is a 400 naming it and the known ones, on both routes.
        let unknown = try call(server, "POST", "/v1/interactions", #"{"interactions":[{"user":"bob","item":"i1","type":"wishlist"}]}"#)
        XCTAssertEqual(unknown.status, 400)
        XCTAssertEqual(unknown.errorMessage, "interactions[0].type 'wishlist' is not a configured event type; known: click, dislike, purchase, view")
        XCTAssertEqual(try call(server, "POST", "/v1/recommend", #"{"interactions":[{"item":"i1","type":7}]}"#).errorMessage, "interactions[0].type must be a string, got a number")
    }

    func testHistoriesAndErasuresSurviveKillNine() throws {
        var server: ServerProcess? = try start()
        try ingest(server!, "carol", ["i0", "i3", "i6"])
        try ingest(server!, "dave", ["i1", "i4"])
        let erased = try call(server!, "DELETE", "/v1/users/dave")
        XCTAssertEqual(erased.status, 200, erased.text)
        XCTAssertEqual(erased.json?["events_forgotten"] as? Int, 2)
        XCTAssertEqual(try call(server!, "GET", "/v1/users/dave").status, 404)
        try ingest(server!, "erin", ["i2"])
        server!.signal(SIGKILL)
        XCTAssertNotNil(server!.waitForExit(timeout: 5))
        server = nil

        let restarted = try start()
        XCTAssertTrue(restarted.log.contains("msg=\"user histories rebuilt from the interaction log\""), restarted.log)
        XCTAssertEqual(try call(restarted, "GET", "/v1/users/carol").json?["events"] as? Int, 3)
        XCTAssertEqual(try call(restarted, "GET", "/v1/users/erin").json?["events"] as? Int, 1)
        XCTAssertEqual(try call(restarted, "GET", "/v1/users/dave").errorCode, "user_not_found", "the erasure outlived the kill")
        // What an erased user sends afterwards is new data.
        try ingest(restarted, "dave", ["i7"])
        XCTAssertEqual(try call(restarted, "GET", "/v1/users/dave").json?["events"] as? Int, 1)
        // Erasure is an admin write: a client with a wrong admin token is refused.
        let guarded = try start(["--admin-token", "s3cret", "--interaction-log", path("log2")])
        XCTAssertEqual(try call(guarded, "DELETE", "/v1/users/carol", headers: "Authorization: Bearer wrong\r\n").status, 401)
        XCTAssertEqual(try call(guarded, "DELETE", "/v1/users/carol", headers: "Authorization: Bearer s3cret\r\n").status, 200)
    }

    /// A retrain after an erasure trains on exactly the user's events fewer, from the base
    /// file and the log alike.
    func testErasureLeavesEveryLaterTrainingRun() throws {
        let server = try start()
        let victim = "u7"  // a user of the generated base file
        let baseEvents = try String(contentsOfFile: path("train.tsv"), encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix(victim + "\t") }.count
        XCTAssertGreaterThan(baseEvents, 0)
        try ingest(server, victim, ["i0", "i3", "i6"])
        func trainedInteractions() throws -> Int {
            let started = try call(server, "POST", "/admin/retrain", #"{"model":"wals","data":{"source":"log"},"force":true,"params":{"factors":4,"iterations":1}}"#)
            XCTAssertEqual(started.status, 202, started.text)
            let id = try XCTUnwrap(started.json?["job"] as? String)
            var job: [String: Any] = [:]
            XCTAssertTrue(waitUntil(timeout: 60) {
                job = (try? call(server, "GET", "/admin/jobs/\(id)").json) ?? [:]
                return ["succeeded", "failed", "cancelled"].contains(job["state"] as? String ?? "")
            }, "\(job)")
            XCTAssertEqual(job["state"] as? String, "succeeded", "\(job)")
            let version = try XCTUnwrap((job["snapshot_version"] as? NSNumber)?.uint64Value)
            let metadata = try call(server, "GET", "/admin/models/wals/versions/\(version)").json?["metadata"] as? [String: Any]
            return try XCTUnwrap((metadata?["data"] as? [String: Any])?["interactions"] as? Int)
        }
        let before = try trainedInteractions()
        XCTAssertEqual(try call(server, "DELETE", "/v1/users/\(victim)").status, 200)
        let after = try trainedInteractions()
        XCTAssertEqual(before - after, baseEvents + 3, "the erased user's base-file and logged events, exactly")
    }

    func testAPITokenGuardsEveryV1Route() throws {
        let server = try start(["--api-token", "k3y", "--admin-token", "adm1n"])
        let routes: [(String, String, String)] = [
            ("POST", "/v1/recommend", #"{"interactions":[{"item":"i0"}]}"#), ("GET", "/v1/items/i0/similar", ""), ("GET", "/v1/items/i0", ""),
            ("POST", "/v1/interactions", #"{"interactions":[{"user":"x","item":"i0"}]}"#), ("GET", "/v1/users/x", ""),
            ("GET", "/v1/users/x/recommend", ""), ("POST", "/v1/users/x/recommend", "{}"), ("DELETE", "/v1/users/x", ""),
        ]
        for (method, target, body) in routes {
            let missing = try call(server, method, target, body)
            XCTAssertEqual(missing.status, 401, "\(method) \(target) without a token: \(missing.text)")
            XCTAssertEqual(try call(server, method, target, body, headers: "Authorization: Bearer wrong\r\n").status, 401, "\(method) \(target) with a wrong token")
        }
        XCTAssertEqual(try call(server, "POST", "/v1/interactions", #"{"interactions":[{"user":"x","item":"i0"}]}"#, headers: "Authorization: Bearer k3y\r\n").status, 202)
        XCTAssertEqual(try call(server, "GET", "/v1/users/x/recommend", headers: "Authorization: Bearer k3y\r\n").status, 200)
        // Erasure needs the admin token, not the API token.
        XCTAssertEqual(try call(server, "DELETE", "/v1/users/x", headers: "Authorization: Bearer k3y\r\n").status, 401)
        XCTAssertEqual(try call(server, "DELETE", "/v1/users/x", headers: "Authorization: Bearer adm1n\r\n").status, 200)
        XCTAssertEqual(try call(server, "GET", "/healthz").status, 200, "probes stay open")
    }

    /// An item the model never saw becomes recommendable once new_item_min_users (5) users
    /// interacted with it: placed by item fold-in against those users, it reaches the group
    /// whose users took it and not the others, marked new; it survives a restart (from the log).
    func testANewItemReachesTheGroupThatTookIt() throws {
        var server: ServerProcess? = try start()
        let group0 = ["i0", "i3", "i6", "i9", "i12", "i15"], group1 = ["i1", "i4", "i7", "i10", "i13", "i16"]
        func taste(_ s: ServerProcess, _ items: [String]) throws -> [[String: Any]] {
            let body = "{\"interactions\":[" + items.map { "{\"item\":\"\($0)\"}" }.joined(separator: ",") + "],\"k\":15}"
            return try call(s, "POST", "/v1/recommend", body).json?["items"] as? [[String: Any]] ?? []
        }
        func only(_ s: ServerProcess, _ items: [String]) throws -> Double? {
            let body = "{\"interactions\":[" + items.map { "{\"item\":\"\($0)\"}" }.joined(separator: ",") + "],\"include\":[\"fresh-0\"]}"
            let item = (try call(s, "POST", "/v1/recommend", body).json?["items"] as? [[String: Any]])?.first
            XCTAssertEqual(item?["new"] as? Bool ?? true, true)
            return item?["score"] as? Double
        }
        for n in 0..<4 { try ingest(server!, "early-\(n)", Array((group0 + group0)[(n % 6)..<(n % 6 + 4)]) + ["fresh-0"]) }
        XCTAssertNil(try only(server!, group0), "four users are not enough")
        try ingest(server!, "early-4", Array(group0.prefix(4)) + ["fresh-0"])
        let placed = try XCTUnwrap(try only(server!, group0), "five users place it")
        XCTAssertGreaterThan(placed, try XCTUnwrap(try only(server!, group1)), "closer to the group that took it")
        // As many users as a typical item has: it joins group 0's answers, not group 1's.
        for n in 5..<40 { try ingest(server!, "early-\(n)", Array((group0 + group0)[(n % 6)..<(n % 6 + 4)]) + ["fresh-0"]) }
        let answer = try taste(server!, group0)
        let fresh = try XCTUnwrap(answer.first { $0["id"] as? String == "fresh-0" }, "\(answer)")
        XCTAssertEqual(fresh["new"] as? Bool, true)
        XCTAssertFalse(try taste(server!, group1).contains { $0["id"] as? String == "fresh-0" }, "another group does not get it")
        let similar = try call(server!, "GET", "/v1/items/fresh-0/similar?k=10")
        XCTAssertEqual(similar.status, 200, similar.text)
        XCTAssertEqual(similar.json?["new"] as? Bool, true)
        let neighbours = (similar.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        let byGroup = (0..<3).map { g in neighbours.filter { Int($0.dropFirst()).map { $0 % 3 == g } ?? false }.count }
        XCTAssertGreaterThanOrEqual(byGroup[0], max(byGroup[1], byGroup[2]), "no group outnumbers group 0 among its neighbours: \(neighbours)")
        XCTAssertEqual(neighbours.first.flatMap { Int($0.dropFirst()) }.map { $0 % 3 }, 0, "its nearest neighbour is of group 0: \(neighbours)")
        // Hidden in the catalogue, it leaves the answers like any item.
        XCTAssertEqual(try call(server!, "PATCH", "/v1/items/fresh-0", #"{"hidden":true}"#).status, 200)
        XCTAssertFalse(try taste(server!, group0).contains { $0["id"] as? String == "fresh-0" })
        XCTAssertEqual(try call(server!, "PATCH", "/v1/items/fresh-0", #"{"hidden":false}"#).status, 200)
        server!.signal(SIGKILL)
        XCTAssertNotNil(server!.waitForExit(timeout: 5))
        server = nil
        let restarted = try start()
        XCTAssertTrue(waitUntil(timeout: 10) { (try? taste(restarted, group0).contains { $0["id"] as? String == "fresh-0" }) ?? false }, "rebuilt from the log")
    }
}

