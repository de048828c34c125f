/// A training parameter's value as a caller gives it: a JSON scalar (the admin API, a spec
/// file) or the text of a command-line flag. Each parameter converts what it accepts.
public enum ParameterValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)

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
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        }
    }

    public var description: String {
        switch self {
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .string(let s): return "'\(s)'"
        case .bool(let b): return String(b)
        }
    }
}

/// Why a training spec is refused; the message names the parameter and what it accepts.
public struct ParameterError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One named, typed, range-checked setting of a `ParameterSet`: the single definition from
/// which the admin API's validation, `unfold train`'s flags, the spec file, the help text
/// and the snapshot's recipe are all derived.
public struct Parameter<Root>: @unchecked Sendable {  // holds key paths, which are immutable
    /// snake_case; the flag is `--` + the name with dashes.
    public let name: String
    public let help: String
    /// What the parameter accepts, for messages: "a whole number within 1...1024".
    public let accepts: String
    /// A boolean: a flag given without a value means true.
    public var isFlag: Bool { accepts == Self.flagAccepts }
    static var flagAccepts: String { "true or false" }
    let set: (inout Root, ParameterValue) -> Bool
    let get: (Root) -> ParameterValue?

    public var flag: String { "--" + String(name.map { $0 == "_" ? "-" : $0 }) }

    /// Sets the parameter on `root`, or throws naming it and what it accepts.
    public func apply(_ value: ParameterValue, to root: inout Root) throws(ParameterError) {
        guard set(&root, value) else { throw ParameterError("parameter '\(name)' must be \(accepts), got \(value)") }
    }

    public func value(of root: Root) -> ParameterValue? { get(root) }

    public static func integer(_ name: String, _ path: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "a whole number within \(range.lowerBound)...\(range.upperBound)",
                  set: { root, value in
                      guard let n = Self.number(value), n == n.rounded(), abs(n) < 1e15, range.contains(Int(n)) else { return false }
                      root[keyPath: path] = Int(n)
                      return true
                  }, get: { .number(Double($0[keyPath: path])) })
    }

    public static func number<F: BinaryFloatingPoint>(_ name: String, _ path: WritableKeyPath<Root, F>, _ range: ClosedRange<Double>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "a number within \(range.lowerBound)...\(range.upperBound)",
                  set: { root, value in
                      guard let n = Self.number(value), range.contains(n) else { return false }
                      root[keyPath: path] = F(n)
                      return true
                  }, get: { .number(Double($0[keyPath: path])) })
    }

    /// A number that may be left unset (its default is then chosen at training time).
    public static func number(_ name: String, _ path: WritableKeyPath<Root, Double?>, _ range: ClosedRange<Double>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "a number within \(range.lowerBound)...\(range.upperBound)",
                  set: { root, value in
                      guard let n = Self.number(value), range.contains(n) else { return false }
                      root[keyPath: path] = n
                      return true
                  }, get: { $0[keyPath: path].map { .number($0) } })
    }

    public static func integer(_ name: String, _ path: WritableKeyPath<Root, Int?>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "a whole number within \(range.lowerBound)...\(range.upperBound)",
                  set: { root, value in
                      guard let n = Self.number(value), n == n.rounded(), abs(n) < 1e15, range.contains(Int(n)) else { return false }
                      root[keyPath: path] = Int(n)
                      return true
                  }, get: { $0[keyPath: path].map { .number(Double($0)) } })
    }

    public static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ path: WritableKeyPath<Root, E>, _ help: String) -> Parameter where E.RawValue == String {
        Parameter(name: name, help: help, accepts: "one of " + E.allCases.map(\.rawValue).joined(separator: ", "),
                  set: { root, value in
                      guard case .string(let s) = value, let e = E(rawValue: s) else { return false }
                      root[keyPath: path] = e
                      return true
                  }, get: { .string($0[keyPath: path].rawValue) })
    }

    /// Comma-separated whole numbers ("256,128"; empty: none), or one number.
    public static func integers(_ name: String, _ path: WritableKeyPath<Root, [Int]>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "comma-separated whole numbers within \(range.lowerBound)...\(range.upperBound)",
                  set: { root, value in
                      let parts: [Int?]
                      switch value {
                      case .number(let n): parts = [n == n.rounded() && abs(n) < 1e9 ? Int(n) : nil]
                      case .string(let s): parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: " ")) }
                      case .bool: return false
                      }
                      guard parts.allSatisfy({ $0.map(range.contains) ?? false }) else { return false }
                      root[keyPath: path] = parts.map { $0! }
                      return true
                  }, get: { .string($0[keyPath: path].map(String.init).joined(separator: ",")) })
    }

    public static func text(_ name: String, _ path: WritableKeyPath<Root, String?>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: "a non-empty string",
                  set: { root, value in
                      guard case .string(let s) = value, !s.isEmpty else { return false }
                      root[keyPath: path] = s
                      return true
                  }, get: { $0[keyPath: path].map { .string($0) } })
    }

    public static func flag(_ name: String, _ path: WritableKeyPath<Root, Bool>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: flagAccepts,
                  set: { root, value in
                      switch value {
                      case .bool(let b): root[keyPath: path] = b
                      case .string("true"): root[keyPath: path] = true
                      case .string("false"): root[keyPath: path] = false
                      default: return false
                      }
                      return true
                  }, get: { .bool($0[keyPath: path]) })
    }

    /// A number from JSON or from a flag's text.
    static func number(_ value: ParameterValue) -> Double? {
        switch value {
        case .number(let n): return n.isFinite ? n : nil
        case .string(let s): return Double(s.trimmingCharacters(in: " ")).flatMap { $0.isFinite ? $0 : nil }
        case .bool: return nil
        }
    }
}

private extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

/// A set of parameters with defaults (`init()`) and a table of them: decoded from values
/// by name, with an unknown name or a bad value refused.
public protocol ParameterSet: Sendable {
    init()
    static var parameters: [Parameter<Self>] { get }
}

extension ParameterSet {
    public static var parameterNames: [String] { parameters.map(\.name) }

    /// The defaults with `values` applied; a name not in the table throws, listing the known ones.
    public init(values: [String: ParameterValue]) throws(ParameterError) {
        self.init()
        for name in values.keys.sorted() {
            guard let parameter = Self.parameters.first(where: { $0.name == name }) else {
                throw ParameterError("unknown parameter '\(name)'; known: \(Self.parameterNames.sorted().joined(separator: ", "))")
            }
            try parameter.apply(values[name]!, to: &self)
        }
    }

    /// Every set parameter by name (what a spec file and the snapshot's recipe hold).
    public var values: [String: ParameterValue] {
        var out: [String: ParameterValue] = [:]
        for p in Self.parameters { if let v = p.value(of: self) { out[p.name] = v } }
        return out
    }

    /// The numeric ones, for the metadata's `hyperparameters`.
    public var numericValues: [String: Double] {
        values.compactMapValues { if case .number(let n) = $0 { return n } else { return nil } }
    }
}
