import XCTest
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot
@testable import UnfoldServing

/// The store on a temporary directory, observed through its event callback.
final class ModelStoreTests: XCTestCase {
    var directory: String!
    let events = EventLog()

    final class EventLog: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [ModelStore.Event] = []
        func append(_ e: ModelStore.Event) { lock.withLock { all.append(e) } }
        var events: [ModelStore.Event] { lock.withLock { all } }

        /// Waits (up to a deadline) until an event matches.
        func wait(timeout: TimeInterval = 10, _ match: (ModelStore.Event) -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if events.contains(where: match) { return true }
                usleep(10_000)
            }
            return false
        }
    }

    override func setUp() {
        directory = NSTemporaryDirectory() + "unfold-store-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func store(_ policy: ModelStore.Policy = ModelStore.Policy()) -> ModelStore {
        let events = self.events
        return ModelStore(directory: directory, policy: policy) { events.append($0) }
    }

    func write(_ model: Model) throws -> String { try SnapshotWriter.write(model, name: model.metadata.name, to: directory) }

    func testLoadsTheNewestAndSwapsOnANewerFile() throws {
        try write(Fixtures.model(version: 1))
        try write(Fixtures.model(version: 2))
        let s = store()
        XCTAssertEqual(s.loadNewest(), 1)
        XCTAssertEqual(s.model(named: "wals")?.version, 2)
        s.startWatching(pollInterval: 0.2)
        defer { s.stopWatching() }
        let held = s.model(named: "wals")
        try write(Fixtures.model(version: 3))
        XCTAssertTrue(events.wait { if case .swapped("wals", 2, 3) = $0 { return true } else { return false } }, "\(events.events)")
        XCTAssertEqual(s.model(named: "wals")?.version, 3)
        XCTAssertEqual(held?.version, 2, "a request keeps the model it started with")
        XCTAssertEqual(s.versions["wals"]?.map(\.state), [.active, .available, .available])
    }

    func testACorruptFileIsRejectedWithTheFailedCheck() throws {
        try write(Fixtures.model(version: 1))
        var bytes = try SnapshotWriter.encode(Fixtures.model(version: 2))
        bytes[bytes.count - 10] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/wals-2.unfold"))
        let s = store()
        s.loadNewest()
        XCTAssertEqual(s.model(named: "wals")?.version, 1)
        let rejected = events.events.compactMap { e -> String? in if case .rejected(_, let reason) = e { return reason } else { return nil } }
        XCTAssertEqual(rejected.count, 1)
        XCTAssertTrue(rejected[0].hasPrefix("check crc failed"), rejected[0])
        XCTAssertEqual(s.versions["wals"]?.first?.state, .rejected)
    }

    func testThePromotionGateHoldsBackAWorseModelUntilActivated() throws {
        try write(Fixtures.model(version: 1, ndcg: 0.30))
        let s = store(ModelStore.Policy(promotionTolerance: 0.01, retainVersions: 5))
        s.loadNewest()
        try write(Fixtures.model(version: 2, ndcg: 0.20))
        s.loadNewest()
        XCTAssertEqual(s.model(named: "wals")?.version, 1)
        XCTAssertTrue(events.events.contains { if case .heldBack("wals", 2, _) = $0 { return true } else { return false } })
        XCTAssertEqual(try s.activate(name: "wals", version: 2).version, 2)
        XCTAssertEqual(s.model(named: "wals")?.version, 2)
        XCTAssertThrowsError(try s.activate(name: "wals", version: 9)) { XCTAssertEqual($0 as? ModelStore.ActivationError, .unknownVersion("wals", 9)) }
        XCTAssertThrowsError(try s.activate(name: "bert", version: 1)) { XCTAssertEqual($0 as? ModelStore.ActivationError, .unknownModel("bert")) }
    }

    func testRetentionKeepsTheNewestAndTheActive() throws {
        for v in 1...4 { try write(Fixtures.model(version: UInt64(v), ndcg: v == 1 ? 0.9 : 0.1)) }
        let s = store(ModelStore.Policy(promotionTolerance: 0.01, retainVersions: 2))
        s.loadNewest()
        // Version 1 loads first and holds the gate against 2–4; retention keeps 4, 3 and the active 1.
        XCTAssertEqual(s.model(named: "wals")?.version, 1)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        XCTAssertEqual(files, ["wals-1.unfold", "wals-3.unfold", "wals-4.unfold"])
        XCTAssertTrue(events.events.contains { if case .removed(let path) = $0 { return path.hasSuffix("wals-2.unfold") } else { return false } })
    }

    func testSeveralNamesSideBySide() throws {
        try write(Fixtures.model(name: "wals", version: 1))
        try write(Fixtures.model(name: "other", version: 5))
        let s = store()
        XCTAssertEqual(s.loadNewest(), 2)
        XCTAssertEqual(s.names, ["other", "wals"])
    }
}
