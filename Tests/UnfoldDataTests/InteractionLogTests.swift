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
        XCTAssertThrowsError(try log.append([InteractionLog.Record(user: "a", item: "x", weight: .nan, timestamp: 0)]))
        XCTAssertThrowsError(try log.append([InteractionLog.Record(user: "a", item: "x", weight: 1, timestamp: 0, type: "buy\tnow")])) { error in
            XCTAssertEqual(error as? InteractionLog.LogError, .invalid(index: 0, reason: "type may hold only letters, digits, '_', '-' and '.'"))
        }
        log.close()
        XCTAssertEqual(try InteractionLog.readAll(directory: directory).records, [])
    }

    func testTypedAndNegativeRecordsRoundTripWithTheirPositions() throws {
        let log = try InteractionLog(directory: directory)
        XCTAssertEqual(log.end, .init(segment: 1, offset: 0))
        let typed = [InteractionLog.Record(user: "u", item: "a", weight: 5, timestamp: 1, type: "purchase"),
                     InteractionLog.Record(user: "u", item: "b", weight: -1, timestamp: 2, type: "dislike"),
                     InteractionLog.Record(user: "v", item: "a", weight: 1, timestamp: 3)]
        try log.append(Array(typed.prefix(2)))
        let middle = log.end
        try log.append([typed[2]])
        log.close()
        var seen: [(InteractionLog.Record, InteractionLog.Position)] = []
        XCTAssertEqual(try InteractionLog.scan(directory: directory) { seen.append(($0, $1)) }, 0)
        XCTAssertEqual(seen.map(\.0), typed)
        XCTAssertEqual(seen[0].1, .init(segment: 1, offset: 0))
        XCTAssertTrue(seen[1].1 < middle && !(seen[2].1 < middle), "a record acknowledged later sits after the end read before it")
        // A record without a type is written in the four-field form older servers wrote.
        let text = try String(contentsOfFile: directory + "/segment-00000001.log", encoding: .utf8)
        XCTAssertTrue(text.hasSuffix("\tv\ta\t1\t3\n"), text)
        XCTAssertTrue(text.contains("\tu\tb\t-1\t2\tdislike\n"), text)
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

    /// A record whose LF never reached the disk was not acknowledged, and `open` cuts it off:
    /// `readAll` must not hand it to a trainer before that (found by the log-segment fuzzer,
    /// Fuzz/regressions/log-segment/unterminated-valid-record).
    func testAnUnterminatedLastRecordIsNotRead() throws {
        let log = try InteractionLog(directory: directory)
        try log.append((0..<3).map(record))
        log.close()
        let segment = InteractionLog.segments(in: directory)[0]
        let handle = FileHandle(forWritingAtPath: segment)!
        handle.seekToEndOfFile()
        handle.write(Data(InteractionLog.encode(record(3)).dropLast()))  // all but the LF
        handle.closeFile()
        let before = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(before.records, (0..<3).map(record))
        XCTAssertEqual(before.badRecords, 0, "a write in progress is not damage")
        let reopened = try InteractionLog(directory: directory)
        XCTAssertNotNil(reopened.recovery)
        reopened.close()
        let after = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(after.records, before.records)
        XCTAssertEqual(after.badRecords, 0)
    }

    /// In a segment before the newest, bytes after the last LF are damage.
    func testAnUnterminatedTailOfAnOlderSegmentIsDamage() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let first = (directory as NSString).appendingPathComponent("segment-00000001.log")
        let second = (directory as NSString).appendingPathComponent("segment-00000002.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: first, contents: Data(InteractionLog.encode(record(0)) + InteractionLog.encode(record(1)).dropLast())))
        XCTAssertTrue(FileManager.default.createFile(atPath: second, contents: Data(InteractionLog.encode(record(2)))))
        let read = try InteractionLog.readAll(directory: directory)
        XCTAssertEqual(read.records, [record(0), record(2)])
        XCTAssertEqual(read.badRecords, 1)
    }

    /// A matching CRC does not make a record valid: the reader refuses what `append` would
    /// (found by the log-segment fuzzer, Fuzz/regressions/log-segment/checksummed-records-append-refuses).
    func testDecodeRefusesWhatAppendRefusesEvenWithAMatchingChecksum() {
        func line(_ body: [UInt8]) -> ArraySlice<UInt8> {
            ArraySlice(Array(String(format: "%08x", ChecksummedLine.crc(body)).utf8) + [0x09] + body)
        }
        XCTAssertEqual(InteractionLog.decode(line(Array("u1\ti1\t1\t1700000000".utf8))),
                       InteractionLog.Record(user: "u1", item: "i1", weight: 1, timestamp: 1_700_000_000))
        for body in ["u\u{1}\ti2\t1\t1700000000", "u3\ti3\tnan\t1700000000", "u4\ti4\t1\tinf", "u6\ti6\t-2\t1700000000\tdis like", "u8\ti8\t1\t1\t", "\ti7\t1\t1"] {
            XCTAssertNil(InteractionLog.decode(line(Array(body.utf8))), body)
        }
        XCTAssertNil(InteractionLog.decode(line([0x75, 0xFF, 0x09, 0x69, 0x09, 0x31, 0x09, 0x31])), "invalid UTF-8 in an id")
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
