import XCTest
import UnfoldData
@testable import UnfoldService

final class UserHistoriesTests: XCTestCase {
    func testKeepsTheLatestEventsInOrderAndCountsThem() throws {
        let histories = UserHistories(capacity: 3)
        var events: [(item: String, weight: Float, timestamp: Double, type: String?)] = []
        for k in 0..<5 { events.append(("i\(k)", Float(k), Double(100 + k), k == 4 ? "purchase" : nil)) }
        histories.add(user: "u", events)
        histories.add([("v", "i1", 1, 50, nil), ("u", "i9", -1, 90, "dislike")])
        let u = try XCTUnwrap(histories.history(of: "u"))
        XCTAssertEqual(u.events.map(\.item), ["i3", "i4", "i9"], "the latest three, oldest first")
        XCTAssertEqual(u.events.map(\.type), [nil, "purchase", "dislike"])
        XCTAssertEqual(u.total, 6)
        XCTAssertEqual(u.firstSeen, 90)
        XCTAssertEqual(u.lastSeen, 104)
        XCTAssertEqual(histories.counts.users, 2)
        XCTAssertEqual(histories.counts.events, 4)
        XCTAssertTrue(histories.remove("u") != nil)
        XCTAssertFalse(histories.remove("u") != nil)
        XCTAssertNil(histories.history(of: "u"))
        XCTAssertEqual(histories.counts.events, 1)
    }

    func testPostedResolvesAgainstAModelOncePerItem() throws {
        let histories = UserHistories(capacity: 10)
        histories.add(user: "u", [("a", 1, 1, nil), ("ghost", 1, 2, nil), ("b", 2, 3, "click"), ("a", -3, 4, "dislike")])
        var lookups: [String] = []
        let rows = ["a": 4, "b": 9]
        let key = UserHistories.ModelKey(object: ObjectIdentifier(self), version: 7)
        let posted = try XCTUnwrap(histories.posted(of: "u", model: key) { lookups.append($0); return rows[$0] })
        XCTAssertEqual(posted.bag.indices, [4, 9])
        XCTAssertEqual(posted.bag.weights, [-2, 2], "a repeat adds its weight: a's 1 − 3 is a dislike")
        XCTAssertEqual(posted.unknown, ["ghost"])
        XCTAssertEqual(lookups.sorted(), ["a", "b", "ghost"])
        _ = histories.posted(of: "u", model: key) { lookups.append($0); return rows[$0] }
        XCTAssertEqual(lookups.count, 3, "the second time reads the model's table")
        XCTAssertNil(histories.posted(of: "nobody", model: key) { _ in 0 })
    }

    func testCapacityZeroRemembersNothing() {
        let histories = UserHistories(capacity: 0)
        histories.add(user: "u", [("i", 1, 1, nil)])
        XCTAssertNil(histories.history(of: "u"))
    }

    func testTombstonesAreDurableAndATornLineIsCutOff() throws {
        let directory = NSTemporaryDirectory() + "unfold-tombstones-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var tombstones: UserTombstones? = try UserTombstones(directory: directory)
        try tombstones!.erase("dave", at: .init(segment: 1, offset: 120))
        try tombstones!.erase("erin", at: .init(segment: 2, offset: 0))
        tombstones = nil
        let path = directory + "/" + UserTombstones.fileName
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("0000beef\tfra".utf8))
        handle.closeFile()
        let reopened = try UserTombstones(directory: directory)
        XCTAssertEqual(reopened.all, ["dave": .init(segment: 1, offset: 120), "erin": .init(segment: 2, offset: 0)])
        try reopened.erase("fred", at: .init(segment: 2, offset: 10))
        XCTAssertEqual(UserTombstones.read(logDirectory: directory).count, 3, "the torn tail was cut before the next line")
    }
}

final class ItemCatalogueTests: XCTestCase {
    func testJournalReplaysCutsATornLineAndCompacts() throws {
        let directory = NSTemporaryDirectory() + "unfold-catalogue-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var catalogue: ItemCatalogue? = try ItemCatalogue(directory: directory)
        _ = try catalogue!.update("a") { (e: inout ItemEntry) throws(RequestError) in try e.apply(["title": .string("A"), "hidden": .bool(true)], replacing: true) }
        for k in 0..<1200 {
            _ = try catalogue!.update("b") { (e: inout ItemEntry) throws(RequestError) in try e.apply(["properties": .object(["n": .number(Double(k))])], replacing: false) }
        }
        _ = try catalogue!.update("c") { (e: inout ItemEntry) throws(RequestError) in e.deleted = true }
        XCTAssertThrowsError(try catalogue!.update("c") { (e: inout ItemEntry) throws(RequestError) in e.hidden = false }) {
            XCTAssertEqual(($0 as? RequestError)?.status, .conflict)
        }
        catalogue = nil
        let path = directory + "/" + ItemCatalogue.fileName
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count
        XCTAssertLessThan(lines, 1000, "compacted once the journal outgrew its entries")
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("0123abcd\t{\"id\":\"d\",\"ent".utf8))
        handle.closeFile()
        let reopened = try ItemCatalogue(directory: directory)
        XCTAssertEqual(reopened.count, 3)
        XCTAssertEqual(reopened.entry("a")?.title, "A")
        XCTAssertEqual(reopened.entry("a")?.hidden, true)
        XCTAssertEqual(reopened.entry("b")?.properties, ["n": .number(1199)])
        XCTAssertEqual(reopened.entry("c")?.isHidden(at: 0), true)
        _ = try reopened.update("d") { (e: inout ItemEntry) throws(RequestError) in e.title = "D" }
        XCTAssertEqual(try ItemCatalogue(directory: directory).entry("d")?.title, "D", "the torn tail was cut before the next line")
    }
}
