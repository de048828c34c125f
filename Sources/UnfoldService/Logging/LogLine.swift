import Foundation
import UnfoldJSON

/// One log record as text: `key=value` pairs (logfmt) or a JSON object per line.
enum LogLine {
    static func render(time: timespec, level: String, message: String, fields: [(String, String)], format: LogWriter.Format, into out: inout [UInt8]) {
        switch format {
        case .logfmt:
            out.append(contentsOf: "ts=".utf8)
            timestamp(time, into: &out)
            out.append(contentsOf: " level=".utf8)
            out.append(contentsOf: level.utf8)
            out.append(contentsOf: " msg=".utf8)
            appendLogfmtValue(message, into: &out)
            for (key, value) in fields {
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: key.utf8)
                out.append(UInt8(ascii: "="))
                appendLogfmtValue(value, into: &out)
            }
        case .json:
            out.append(contentsOf: #"{"ts":""#.utf8)
            timestamp(time, into: &out)
            out.append(contentsOf: #"","level":"#.utf8)
            appendJSONString(level, to: &out)
            out.append(contentsOf: #","msg":"#.utf8)
            appendJSONString(message, to: &out)
            for (key, value) in fields {
                out.append(UInt8(ascii: ","))
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                appendJSONString(value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "\n"))
    }

    /// A request's line, written straight into `out` (no field array, no intermediate
    /// strings): the writer renders one per request, so this is the hot path of logging.
    static func renderRequest(_ r: LogWriter.RequestRecord, format: LogWriter.Format, clock: inout TimestampCache, into out: inout [UInt8]) {
        switch format {
        case .logfmt:
            out.append(contentsOf: "ts=".utf8)
            clock.append(r.time, into: &out)
            out.append(contentsOf: " level=info msg=request bytes=".utf8)
            appendDecimal(UInt64(max(r.bytes, 0)), into: &out)
            out.append(contentsOf: " duration_ms=".utf8)
            appendMilliseconds(r.microseconds, into: &out)
            out.append(contentsOf: " method=".utf8)
            appendLogfmtValue(r.method, into: &out)
            out.append(contentsOf: " path=".utf8)
            appendLogfmtValue(r.path, into: &out)
            out.append(contentsOf: " peer=".utf8)
            appendLogfmtValue(r.peer, into: &out)
            out.append(contentsOf: " status=".utf8)
            appendDecimal(UInt64(max(r.status, 0)), into: &out)
        case .json:
            out.append(contentsOf: #"{"ts":""#.utf8)
            clock.append(r.time, into: &out)
            out.append(contentsOf: #"","level":"info","msg":"request","bytes":""#.utf8)
            appendDecimal(UInt64(max(r.bytes, 0)), into: &out)
            out.append(contentsOf: #"","duration_ms":""#.utf8)
            appendMilliseconds(r.microseconds, into: &out)
            out.append(contentsOf: #"","method":"#.utf8)
            appendJSONString(r.method, to: &out)
            out.append(contentsOf: #","path":"#.utf8)
            appendJSONString(r.path, to: &out)
            out.append(contentsOf: #","peer":"#.utf8)
            appendJSONString(r.peer, to: &out)
            out.append(contentsOf: #","status":""#.utf8)
            appendDecimal(UInt64(max(r.status, 0)), into: &out)
            out.append(contentsOf: #""}"#.utf8)
        }
        out.append(UInt8(ascii: "\n"))
    }

    static func appendDecimal(_ value: UInt64, into out: inout [UInt8]) {
        if value < 10 { out.append(UInt8(48 + value)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 { buffer[19 - count] = UInt8(48 + v % 10); v /= 10; count += 1 }
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    /// Microseconds as milliseconds with three decimals (`12.345`).
    static func appendMilliseconds(_ micros: UInt64, into out: inout [UInt8]) {
        appendDecimal(micros / 1000, into: &out)
        let fraction = micros % 1000
        out.append(UInt8(ascii: "."))
        out.append(UInt8(48 + fraction / 100)); out.append(UInt8(48 + fraction / 10 % 10)); out.append(UInt8(48 + fraction % 10))
    }

    /// A logfmt value, bytes as they are unless it holds a space, a quote, an equals sign, a
    /// backslash or a control byte (then quoted, with `\"`, `\\` and `\n` escaped).
    static func appendLogfmtValue(_ value: String, into out: inout [UInt8]) {
        var value = value
        value.withUTF8 { bytes in
            let plain = !bytes.isEmpty && !bytes.contains { $0 <= 0x20 || $0 == 0x22 || $0 == 0x3D || $0 == 0x5C || $0 == 0x7F }
            if plain { out.append(contentsOf: bytes); return }
            out.append(UInt8(ascii: "\""))
            for b in bytes {
                switch b {
                case 0x22: out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x5C: out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                default: out.append(b)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// The date and time of the last second rendered, kept so that a line in the same second
    /// costs only its milliseconds (one `gmtime_r` per second, not per line).
    struct TimestampCache {
        var second = -1
        var prefix: [UInt8] = []  // 2026-11-23T01:02:03

        mutating func append(_ time: timespec, into out: inout [UInt8]) {
            if time.tv_sec != second {
                prefix.removeAll(keepingCapacity: true)
                LogLine.timestamp(time, into: &prefix)
                prefix.removeLast(5)  // ".456Z"
                second = time.tv_sec
            }
            out.append(contentsOf: prefix)
            let millis = Int(time.tv_nsec / 1_000_000)
            out.append(UInt8(ascii: ".")); out.append(UInt8(48 + millis / 100)); out.append(UInt8(48 + millis / 10 % 10)); out.append(UInt8(48 + millis % 10))
            out.append(UInt8(ascii: "Z"))
        }
    }

    /// 2026-11-23T01:02:03.456Z
    static func timestamp(_ time: timespec, into out: inout [UInt8]) {
        var seconds = time.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ v: Int32) { out.append(UInt8(48 + v / 10)); out.append(UInt8(48 + v % 10)) }
        let year = parts.tm_year + 1900
        out.append(UInt8(48 + year / 1000)); out.append(UInt8(48 + year / 100 % 10)); two(year % 100)
        out.append(UInt8(ascii: "-")); two(parts.tm_mon + 1)
        out.append(UInt8(ascii: "-")); two(parts.tm_mday)
        out.append(UInt8(ascii: "T")); two(parts.tm_hour)
        out.append(UInt8(ascii: ":")); two(parts.tm_min)
        out.append(UInt8(ascii: ":")); two(parts.tm_sec)
        let millis = Int32(time.tv_nsec / 1_000_000)
        out.append(UInt8(ascii: ".")); out.append(UInt8(48 + millis / 100)); two(millis % 100)
        out.append(UInt8(ascii: "Z"))
    }
}
