import Foundation
import XCTest

/// The item catalogue on the real binary: hidden, expiring, deleted and re-filed items are
/// applied at once to every recommend route and to similar; writes survive kill -9.
final class CatalogueEndToEndTests: XCTestCase {
    var work: String!

    func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }

    override func setUpWithError() throws {
        work = NSTemporaryDirectory() + "unfold-catalogue-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        var items = "item\ttitle\tcategories\n"
        for i in 0..<120 { items += "i\(i)\tItem \(i)\tgroup\(i % 3)\n" }
        try items.write(toFile: path("items.tsv"), atomically: true, encoding: .utf8)
        try trainPlantedModel(in: work, extra: ["--items", path("items.tsv"), "--neighbours", "20"])
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: work)
    }

    func start(_ extra: [String] = []) throws -> ServerProcess {
        let server = try ServerProcess(["--snapshots", path("snapshots"), "--interaction-log", path("state")] + extra)
        XCTAssertTrue(server.waitForLog("msg=\"model loaded\""), server.log)
        return server
    }

    func ids(_ response: WireResponse) -> [String] {
        (response.json?["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
    }

    let history = #"{"interactions":[{"item":"i0"},{"item":"i3"},{"item":"i6"}],"k":40}"#

    func everyAnswer(_ server: ServerProcess) throws -> [String: [String]] {
        _ = try call(server, "POST", "/v1/interactions", #"{"interactions":[{"user":"cat-u","item":"i0"},{"user":"cat-u","item":"i3"},{"user":"cat-u","item":"i6"}]}"#)
        return [
            "recommend": ids(try call(server, "POST", "/v1/recommend", history)),
            "user": ids(try call(server, "GET", "/v1/users/cat-u/recommend?k=40")),
            "similar": ids(try call(server, "GET", "/v1/items/i0/similar?k=15")),
            "similar-scan": ids(try call(server, "GET", "/v1/items/i0/similar?k=60")),
            "popular": ids(try call(server, "POST", "/v1/recommend", #"{"k":40}"#)),
        ]
    }

    func testHiddenExpiredAndDeletedItemsLeaveEveryAnswerAtOnce() throws {
        var server: ServerProcess? = try start()
        let before = try everyAnswer(server!)
        // The items a group-0 history gets first: hide one, expire one, delete one.
        let top = try XCTUnwrap(before["recommend"]).prefix(3).map { $0 }
        XCTAssertEqual(top.count, 3)
        XCTAssertEqual(try call(server!, "PUT", "/v1/items/\(top[0])", #"{"title":"Hidden one","hidden":true}"#).status, 200)
        XCTAssertEqual(try call(server!, "PATCH", "/v1/items/\(top[1])", #"{"expires_at":1000}"#).status, 200)
        XCTAssertEqual(try call(server!, "DELETE", "/v1/items/\(top[2])").status, 200)
        let gone = Set(top)
        for (route, answer) in try everyAnswer(server!) {
            XCTAssertTrue(gone.isDisjoint(with: answer), "\(route) still returns \(gone.intersection(answer))")
            XCTAssertFalse(answer.isEmpty, route)
        }
        let shown = try call(server!, "GET", "/v1/items/\(top[0])")
        XCTAssertEqual(shown.json?["title"] as? String, "Hidden one")
        XCTAssertEqual(shown.json?["recommendable"] as? Bool, false)
        XCTAssertEqual((shown.json?["catalogue"] as? [String: Any])?["hidden"] as? Bool, true)
        // A deleted item stays hidden.
        let again = try call(server!, "PUT", "/v1/items/\(top[2])", #"{"hidden":false}"#)
        XCTAssertEqual(again.status, 409, again.text)

        // kill -9: every acknowledged write is there after the restart.
        server!.signal(SIGKILL)
        XCTAssertNotNil(server!.waitForExit(timeout: 5))
        server = nil
        let restarted = try start()
        for (route, answer) in try everyAnswer(restarted) {
            XCTAssertTrue(gone.isDisjoint(with: answer), "after the restart \(route) returns \(gone.intersection(answer))")
        }
        // Unhiding brings an item back; an expiry a moment ahead takes it out when it passes.
        XCTAssertEqual(try call(restarted, "PATCH", "/v1/items/\(top[0])", #"{"hidden":false}"#).status, 200)
        XCTAssertTrue(ids(try call(restarted, "POST", "/v1/recommend", history)).contains(top[0]))
        let soon = Date().timeIntervalSince1970 + 1.5
        XCTAssertEqual(try call(restarted, "PATCH", "/v1/items/\(top[0])", #"{"expires_at":\#(soon)}"#).status, 200)
        XCTAssertTrue(ids(try call(restarted, "POST", "/v1/recommend", history)).contains(top[0]), "not expired yet")
        Thread.sleep(forTimeInterval: 2)
        XCTAssertFalse(ids(try call(restarted, "POST", "/v1/recommend", history)).contains(top[0]), "expired")
    }

    func testCategoryFiltersReadTheCataloguesCategories() throws {
        let server = try start()
        let group1 = ids(try call(server, "POST", "/v1/recommend", #"{"interactions":[{"item":"i0"}],"k":50,"categories":["group1"]}"#))
        XCTAssertTrue(group1.allSatisfy { Int($0.dropFirst())! % 3 == 1 }, "\(group1)")
        // Re-file i4 (group1 in the items file) under a new category.
        XCTAssertEqual(try call(server, "PATCH", "/v1/items/i4", #"{"categories":["featured"]}"#).status, 200)
        let featured = ids(try call(server, "POST", "/v1/recommend", #"{"interactions":[{"item":"i0"}],"k":10,"categories":["featured"]}"#))
        XCTAssertEqual(featured, ["i4"])
        XCTAssertFalse(ids(try call(server, "POST", "/v1/recommend", #"{"interactions":[{"item":"i0"}],"k":50,"categories":["group1"]}"#)).contains("i4"))
        XCTAssertEqual(try call(server, "GET", "/v1/items/i4").json?["categories"] as? [String], ["featured"])
        // An item no model knows can be described ahead of time.
        XCTAssertEqual(try call(server, "PUT", "/v1/items/new-42", #"{"title":"Coming soon","properties":{"price":9.5,"tags":["a"]}}"#).status, 200)
        let described = try call(server, "GET", "/v1/items/new-42")
        XCTAssertEqual(described.status, 200, described.text)
        XCTAssertEqual(((described.json?["catalogue"] as? [String: Any])?["properties"] as? [String: Any])?["price"] as? Double, 9.5)
    }

    func testBadWritesAreRefusedWithTheField() throws {
        let server = try start(["--admin-token", "adm"])
        let auth = "Authorization: Bearer adm\r\n"
        XCTAssertEqual(try call(server, "PUT", "/v1/items/i1", #"{"hidden":true}"#).status, 401, "a catalogue write is an admin write")
        XCTAssertEqual(try call(server, "PUT", "/v1/items/i1", #"{"colour":"red"}"#, headers: auth).errorMessage,
                       "unknown field 'colour'; known fields: categories, expires_at, hidden, properties, title")
        XCTAssertEqual(try call(server, "PATCH", "/v1/items/i1", #"{"hidden":"yes"}"#, headers: auth).errorMessage, "hidden must be a boolean, got a string")
        XCTAssertEqual(try call(server, "PATCH", "/v1/items/i1", #"{"categories":["a",3]}"#, headers: auth).errorMessage,
                       "categories[1] must be a string of 1 to 200 characters")
        XCTAssertEqual(try call(server, "PUT", "/v1/items/i1", "[]", headers: auth).errorMessage, "body must be a JSON object")
        XCTAssertEqual(try call(server, "GET", "/v1/items/nowhere").errorCode, "item_not_found")
        XCTAssertEqual(try call(server, "GET", "/healthz").status, 200)
    }
}
