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
