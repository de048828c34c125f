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
            out.append(contentsOf: quote(message).utf8)
            for (key, value) in fields {
                out.append(UInt8(ascii: " "))
                out.append(contentsOf: key.utf8)
                out.append(UInt8(ascii: "="))
                out.append(contentsOf: quote(value).utf8)
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

    /// A logfmt value, quoted when it holds a space, a quote, an equals sign or a newline.
    static func quote(_ value: String) -> String {
        if !value.isEmpty && !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return value
        }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    static func milliseconds(_ micros: UInt64) -> String {
        let whole = micros / 1000, fraction = micros % 1000
        return "\(whole)." + (fraction < 10 ? "00" : fraction < 100 ? "0" : "") + String(fraction)
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
