import Foundation
import UnfoldData
import XCTest

/// `POST /v1/interactions` on the real binary: durability across kill -9, torn records,
/// bad input, and retraining from the log.
final class IngestEndToEndTests: XCTestCase {
    static func post(_ port: UInt16, _ body: String) throws -> WireResponse {
        let c = try RawClient(port: port)
        try c.send("POST /v1/interactions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        return try c.readResponse()
    }

    func post(_ port: UInt16, _ body: String) throws -> WireResponse { try Self.post(port, body) }

    func batch(writer: Int, number: Int, size: Int = 20) -> String { Self.batch(writer: writer, number: number, size: size) }

    static func batch(writer: Int, number: Int, size: Int = 20) -> String {
        let records = (0..<size).map { #"{"user":"w\#(writer)-b\#(number)","item":"i\#($0)","weight":1,"timestamp":\#(1_700_000_000 + number)}"# }
        return "{\"interactions\":[" + records.joined(separator: ",") + "]}"
    }

    /// Writers send batches concurrently; the server is killed with SIGKILL mid-stream.
    /// After a restart every batch that got a 202 is in the log, whole, and the log parses.
    func testAcknowledgedBatchesSurviveKillNine() throws {
        let root = NSTemporaryDirectory() + "unfold-ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try ServerProcess(["--interaction-log", root + "/log"])
        final class Acks: @unchecked Sendable {
            let lock = NSLock()
            var acknowledged: Set<String> = []
            var stop = false
        }
        let acks = Acks()
        let port = server.port
        let writers = (0..<4).map { writer in
            Thread {
                for number in 0..<100_000 {
                    // Stop once the server is gone: never hammer a later server that reuses the port.
                    if acks.lock.withLock({ acks.stop }) { return }
                    guard let response = try? IngestEndToEndTests.post(port, IngestEndToEndTests.batch(writer: writer, number: number)) else { return }
                    if response.status == 202 { acks.lock.withLock { _ = acks.acknowledged.insert("w\(writer)-b\(number)") } }
                }
            }
        }
        writers.forEach { $0.start() }
        XCTAssertTrue(waitUntil(timeout: 60) { acks.lock.withLock { acks.acknowledged.count } >= 200 }, "200 acknowledged batches within a minute")
        server.signal(SIGKILL)
        acks.lock.withLock { acks.stop = true }
        XCTAssertNotNil(server.waitForExit(timeout: 5))
        usleep(300_000)
        let acknowledged = acks.lock.withLock { acks.acknowledged }

        let restarted = try ServerProcess(["--interaction-log", root + "/log"])
        XCTAssertEqual(try post(restarted.port, batch(writer: 9, number: 0)).status, 202, "the log takes writes after recovery")
        let read = try InteractionLog.readAll(directory: root + "/log")
        XCTAssertEqual(read.badRecords, 0, "the log parses")
        var counts: [String: Int] = [:]
        for record in read.records { counts[record.user, default: 0] += 1 }
        for id in acknowledged {
            XCTAssertEqual(counts[id], 20, "acknowledged batch \(id) is whole in the log")
        }
        XCTAssertTrue(counts.values.allSatisfy { $0 == 20 }, "no batch is in the log in part")
    }

    func testTornRecordIsTruncatedAtStart() throws {
        let root = NSTemporaryDirectory() + "unfold-torn-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var server: ServerProcess? = try ServerProcess(["--interaction-log", root + "/log"])
        XCTAssertEqual(try post(server!.port, batch(writer: 0, number: 0, size: 3)).status, 202)
        server!.signal(SIGTERM)
        server!.waitForExit(timeout: 5)
        server = nil
        let segment = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: root + "/log").first)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: root + "/log/" + segment))
        handle.seekToEndOfFile()
        handle.write(Data("0badf00d\tw0-b1\ti".utf8))
        handle.closeFile()
        let again = try ServerProcess(["--interaction-log", root + "/log"])
        XCTAssertTrue(again.log.contains("interaction log: truncated a torn last record"), again.log)
        XCTAssertEqual(try InteractionLog.readAll(directory: root + "/log").records.count, 3)
    }

    func testBadBatchesAreRefusedWhole() throws {
        let root = NSTemporaryDirectory() + "unfold-bad-ingest-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try ServerProcess(["--interaction-log", root + "/log"])
        let cases: [(String, Int, String)] = [
            (#"{"interactions":[{"user":"a","item":"x"},{"user":"b"}]}"#, 400, "interactions[1].item is missing"),
            (#"{"interactions":[{"user":"a","item":"x","weight":-2}]}"#, 400, "interactions[0]: weight must be a finite number >= 0"),
            (#"{"interactions":[{"user":"a\tb","item":"x"}]}"#, 400, "interactions[0]: user contains a control character"),
            (#"{"interactions":[]}"#, 400, "must not be empty"),
            (#"{"events":[]}"#, 400, "unknown field 'events'"),
            ("not json", 400, "not valid JSON"),
        ]
        for (body, status, message) in cases {
            let response = try post(server.port, body)
            XCTAssertEqual(response.status, status, body)
            XCTAssertTrue(response.text.contains(message), "\(body): \(response.text)")
        }
        let tooMany = "{\"interactions\":[" + Array(repeating: #"{"user":"a","item":"b"}"#, count: 10_001).joined(separator: ",") + "]}"
        XCTAssertEqual(try post(server.port, tooMany).status, 413)
        XCTAssertEqual(try InteractionLog.readAll(directory: root + "/log").records.count, 0, "nothing of a rejected batch was written")
    }

    func testIngestedInteractionsTriggerARetrain() throws {
        let root = NSTemporaryDirectory() + "unfold-trigger-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "100", "--items", "40", "--interactions", "1500", "--out", root + "/base.tsv"]).status, 0)
        let server = try ServerProcess(["--interaction-log", root + "/log", "--snapshots", root + "/snapshots", "--train-data", root + "/base.tsv",
                                        "--retrain-after-interactions", "50", "--snapshot-poll-seconds", "0.3"])
        XCTAssertEqual(try post(server.port, batch(writer: 0, number: 0, size: 30)).status, 202)
        usleep(300_000)
        XCTAssertFalse(server.log.contains("retrain started after ingested interactions"), "30 < 50")
        XCTAssertEqual(try post(server.port, batch(writer: 0, number: 1, size: 30)).status, 202)
        XCTAssertTrue(server.waitForLog("retrain started after ingested interactions"), server.log)
        XCTAssertTrue(server.waitForLog("msg=\"model activated\"", timeout: 30), server.log)
    }

    func testRetrainFromTheLogLearnsNewItems() throws {
        let root = NSTemporaryDirectory() + "unfold-log-train-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertEqual(try runUnfold(["generate", "--users", "200", "--items", "60", "--interactions", "3000", "--out", root + "/base.tsv"]).status, 0)
        let server = try ServerProcess(["--interaction-log", root + "/log", "--snapshots", root + "/snapshots", "--train-data", root + "/base.tsv",
                                        "--snapshot-poll-seconds", "0.3"])
        let records = (0..<30).map { #"{"user":"u\#($0)","item":"brand-new","weight":3}"# }.joined(separator: ",")
        XCTAssertEqual(try post(server.port, "{\"interactions\":[\(records)]}").status, 202)
        let c = try RawClient(port: server.port)
        let body = #"{"params":{"factors":8,"iterations":3},"data":{"source":"log"}}"#
        try c.send("POST /admin/retrain HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        XCTAssertEqual(try c.readResponse().status, 202)
        XCTAssertTrue(server.waitForLog("msg=\"model activated\"", timeout: 30), server.log)
        let item = try RawClient(port: server.port)
        try item.send(RawClient.get("/v1/items/brand-new"))
        XCTAssertEqual(try item.readResponse().status, 200, "the logged item is in the new model")
    }
}
