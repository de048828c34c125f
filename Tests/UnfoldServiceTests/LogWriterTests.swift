import XCTest
@testable import UnfoldService

final class LogWriterTests: XCTestCase {
    /// A writer into a pipe; returns it and a reader of everything written so far.
    func pipeWriter(capacity: Int, interval: Double) -> (LogWriter, () -> String) {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        let writer = LogWriter(capacity: capacity, output: fds[1], interval: interval)
        let read = { () -> String in
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = Foundation.read(fds[0], &buffer, buffer.count)
                if n <= 0 { break }
                out += buffer[0..<n]
            }
            return String(decoding: out, as: UTF8.self)
        }
        return (writer, read)
    }

    func record(_ path: String) -> LogWriter.RequestRecord {
        .init(time: timespec(tv_sec: 1_796_000_000, tv_nsec: 123_000_000), method: "GET", path: path, status: 200, bytes: 15, microseconds: 1234, peer: "127.0.0.1")
    }

    func testAFullBufferDropsAndCountsInsteadOfWaiting() {
        // The writer sleeps for a minute unless asked: nothing drains while lines arrive.
        let (writer, read) = pipeWriter(capacity: 4, interval: 60)
        for k in 0..<10 { writer.request(record("/p\(k)")) }
        XCTAssertEqual(writer.dropped, 6)
        writer.flush()
        let lines = read().split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertEqual(String(lines[0]), "ts=2026-11-30T00:53:20.123Z level=info msg=request bytes=15 duration_ms=1.234 method=GET path=/p0 peer=127.0.0.1 status=200")
    }

    func testJSONLinesParse() throws {
        let (writer, read) = pipeWriter(capacity: 16, interval: 60)
        writer.format = .json
        writer.request(record("/v1/recommend"))
        writer.line(level: "warning", message: "a \"quoted\"\nmessage", fields: [("model", "wals")])
        writer.flush()
        let lines = read().split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[0]?["path"] as? String, "/v1/recommend")
        XCTAssertEqual(lines[0]?["ts"] as? String, "2026-11-30T00:53:20.123Z")
        XCTAssertEqual(lines[1]?["msg"] as? String, "a \"quoted\"\nmessage")
        XCTAssertEqual(lines[1]?["level"] as? String, "warning")
    }

    /// The request line's fast renderer says what the general one says for the same fields,
    /// in both formats, quoting included; and a cached second renders like a fresh one.
    func testTheRequestRendererAgreesWithTheGeneralOne() {
        for format in LogWriter.Format.allCases {
            var clock = LogLine.TimestampCache()
            for (path, nanos) in [("/v1/items/a b", 5_000_000), ("/x?q=\"1\"\\", 999_000_000), ("/p", 1_000_000), ("", 0)] {
                var r = record(path)
                r.time.tv_nsec = nanos
                r.microseconds = UInt64(nanos / 7)
                var fast: [UInt8] = [], general: [UInt8] = []
                LogLine.renderRequest(r, format: format, clock: &clock, into: &fast)
                let ms = "\(r.microseconds / 1000)." + String(String(r.microseconds % 1000 + 1000).dropFirst())
                LogLine.render(time: r.time, level: "info", message: "request", fields: [
                    ("bytes", "15"), ("duration_ms", ms), ("method", "GET"), ("path", path), ("peer", "127.0.0.1"), ("status", "200"),
                ], format: format, into: &general)
                XCTAssertEqual(String(decoding: fast, as: UTF8.self), String(decoding: general, as: UTF8.self), "\(format) \(path)")
            }
        }
        var big: [UInt8] = []
        LogLine.appendDecimal(18_446_744_073_709_551_615, into: &big)
        XCTAssertEqual(String(decoding: big, as: UTF8.self), "18446744073709551615")
    }
}
