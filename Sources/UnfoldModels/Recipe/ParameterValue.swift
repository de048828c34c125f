/// A training parameter's value as a caller gives it: a JSON scalar (the admin API, a spec
/// file), typed as JSON types it, or the text of a command-line flag, which each parameter
/// reads as its own type. A JSON value of the wrong type is refused: `"64"` is not a number.
public enum ParameterValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)
    /// A flag's text, not yet typed.
    case text(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else { throw DecodingError.typeMismatch(ParameterValue.self, .init(codingPath: c.codingPath, debugDescription: "a parameter must be a number, a string or a boolean")) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .string(let s), .text(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }

    public var description: String {
        switch self {
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .text(let s): return "'\(s)'"
        case .bool(let b): return String(b)
        }
    }
}
