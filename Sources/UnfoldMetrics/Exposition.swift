/// The Prometheus text exposition format, version 0.0.4: `# HELP`, `# TYPE`, then one
/// `name{label="value",…} value` line per series.
public struct Exposition {
    public private(set) var text = ""

    public init() {}

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.number(value) + "\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        sample(name, labels, Double(value))
    }

    /// A histogram's `_bucket`, `_sum` and `_count` series.
    public mutating func histogram(_ name: String, _ labels: [(String, String)] = [], _ h: Histogram) {
        let s = h.snapshot()
        for bucket in s.buckets {
            sample(name + "_bucket", labels + [("le", bucket.bound.isInfinite ? "+Inf" : Self.number(bucket.bound))], Double(bucket.cumulative))
        }
        sample(name + "_sum", labels, s.sum)
        sample(name + "_count", labels, Double(s.count))
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
