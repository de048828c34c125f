import UnfoldJSON

extension JSONValue {
    /// Appends the value as compact JSON text (object keys sorted, so equal values write
    /// equal text).
    func write(to out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(let x):
            if !x.isFinite { out.append(contentsOf: "null".utf8) }
            else if x == x.rounded() && abs(x) < 1e15 { out.append(contentsOf: String(Int64(x)).utf8) }
            else { out.append(contentsOf: String(x).utf8) }
        case .string(let s): appendJSONString(s, to: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (k, v) in values.enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (k, key) in members.keys.sorted().enumerated() {
                if k > 0 { out.append(UInt8(ascii: ",")) }
                appendJSONString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    var text: [UInt8] {
        var out: [UInt8] = []
        write(to: &out)
        return out
    }
}
