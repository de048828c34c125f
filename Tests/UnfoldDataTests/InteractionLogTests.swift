import Synchronization
import XCTest
@testable import UnfoldData

final class InteractionLogTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "unfold-log-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func record(_ i: Int) -> InteractionLog.Record { Self.record(i) }

    static func record(_ i: Int) -> InteractionLog.Record {
        InteractionLog.Record(user: "u\(i % 7)", item: "i\(i)", weight: Float(i % 3) + 0.5, timestamp: 1_700_000_000 + Double(i))
    }

    func testAppendAndReadBack() throws {
        let log = try InteractionLog(directory: directory)
        try log.append((0..<10).map(record))
        try log.append([record(10)])
        log.close()
        let read = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(read.records, (0...10).map(record))
        XCTAssertEqual(read.badRecords, 0)
    }

    func testEachGroupCommitIsReported() throws {
        let commits = Mutex<[InteractionLog.Commit]>([])
        let log = try InteractionLog(directory: directory, onCommit: { commit in commits.withLock { $0.append(commit) } })
        // Concurrent senders: every batch is carried by some commit, and the bytes add up to the file.
        DispatchQueue.concurrentPerform(iterations: 16) { i in try! log.append([Self.record(i), Self.record(i + 100)]) }
        // A commit is reported after its senders are woken: wait for the last report.
        let deadline = Date().addingTimeInterval(10)
        while commits.withLock({ $0.reduce(0) { $0 + $1.batches } }) < 16 && Date() < deadline { usleep(1000) }
        log.close()
        let seen = commits.withLock { $0 }
        XCTAssertEqual(seen.reduce(0) { $0 + $1.batches }, 16)
        let onDisk = try InteractionLog.segments(in: directory).reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? 0) }
        XCTAssertEqual(seen.reduce(0) { $0 + $1.bytes }, onDisk)
        XCTAssertTrue(seen.allSatisfy { $0.batches >= 1 && $0.bytes > 0 })
    }

    func testAnInvalidRecordRejectsTheWholeBatch() throws {
        let log = try InteractionLog(directory: directory)
        XCTAssertThrowsError(try log.append([record(1), InteractionLog.Record(user: "a\tb", item: "x", weight: 1, timestamp: 0)])) { error in
            XCTAssertEqual(error as? InteractionLog.LogError, .invalid(index: 1, reason: "user contains a control character"))
        }
        XCTAssertThrowsError(try log.append([InteractionLog.Record(user: "a", item: "x", weight: -1, timestamp: 0)]))
        log.close()
        XCTAssertEqual(try InteractionLog.readAll(directory: directory).records, [])
    }

    func testTornTailIsTruncatedOnOpen() throws {
        var log: InteractionLog? = try InteractionLog(directory: directory)
        try log!.append((0..<5).map(record))
        log!.close()
        log = nil
        let segment = InteractionLog.segments(in: directory)[0]
        let handle = FileHandle(forWritingAtPath: segment)!
        handle.seekToEndOfFile()
        handle.write(Data("deadbeef\tu1\ti9\t1".utf8))  // a record cut off mid-write
        handle.closeFile()
        let reopened = try InteractionLog(directory: directory)
        XCTAssertEqual(reopened.recovery?.truncatedBytes, 16)
        try reopened.append([record(5)])
        reopened.close()
        let read = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(read.records, (0...5).map(record))
        XCTAssertEqual(read.badRecords, 0)
    }

    func testDamageInTheMiddleIsNotCutOff() throws {
        let log = try InteractionLog(directory: directory)
        try log.append((0..<3).map(record))
        log.close()
        let segment = InteractionLog.segments(in: directory)[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: segment))
        bytes[12] ^= 0x01  // inside the first record
        try bytes.write(to: URL(fileURLWithPath: segment))
        let reopened = try InteractionLog(directory: directory)
        XCTAssertNil(reopened.recovery, "good records follow the damage: nothing is truncated")
        reopened.close()
        let read = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(read.records, [record(1), record(2)])
        XCTAssertEqual(read.badRecords, 1)
    }

    func testSegmentsRotate() throws {
        let log = try InteractionLog(directory: directory, segmentBytes: 4096)
        for batch in 0..<20 { try log.append((0..<10).map { record(batch * 10 + $0) }) }
        log.close()
        XCTAssertGreaterThan(InteractionLog.segments(in: directory).count, 1)
        XCTAssertEqual(try InteractionLog.readAll(directory: directory).records, (0..<200).map(record))
    }

    func testConcurrentAppendsShareSyncsAndAllLand() throws {
        let log = try InteractionLog(directory: directory)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for batch in 0..<25 { try! log.append((0..<4).map { InteractionLogTests.record(worker * 1000 + batch * 4 + $0) }) }
        }
        log.close()
        let read = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(read.records.count, 8 * 25 * 4)
        XCTAssertEqual(Set(read.records.map(\.item)).count, 800)
    }
}
