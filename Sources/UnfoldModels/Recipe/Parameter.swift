/// One named, typed, range-checked setting of a `ParameterSet`: the single definition from
/// which the admin API's validation, `unfold train`'s flags, the spec file, the help text
/// and the snapshot's recipe are all derived.
public struct Parameter<Root>: @unchecked Sendable {  // holds key paths, which are immutable
    /// What values a parameter takes: the one statement its check, its message and the API
    /// contract (docs/openapi.yaml, held to it by a test) are made from.
    public enum Accepts: Sendable, Equatable {
        case integer(ClosedRange<Int>)
        case number(ClosedRange<Double>)
        case choice([String])
        /// Comma-separated whole numbers within the range (or one number); empty for none.
        case integers(ClosedRange<Int>)
        case text
        case flag

        public var description: String {
            switch self {
            case .integer(let r): return "a whole number within \(r.lowerBound)...\(r.upperBound)"
            case .number(let r): return "a number within \(r.lowerBound)...\(r.upperBound)"
            case .choice(let values): return "one of " + values.joined(separator: ", ")
            case .integers(let r): return "comma-separated whole numbers within \(r.lowerBound)...\(r.upperBound)"
            case .text: return "a non-empty string"
            case .flag: return "true or false"
            }
        }
    }

    /// snake_case; the flag is `--` + the name with dashes.
    public let name: String
    public let help: String
    public let accepts: Accepts
    let set: (inout Root, ParameterValue) -> Bool
    let get: (Root) -> ParameterValue?

    public var flag: String { "--" + String(name.map { $0 == "_" ? "-" : $0 }) }

    /// A boolean: a flag given without a value means true.
    public var isFlag: Bool { accepts == .flag }

    /// Sets the parameter on `root`, or throws naming it and what it accepts.
    public func apply(_ value: ParameterValue, to root: inout Root) throws(ParameterError) {
        guard set(&root, value) else { throw ParameterError("parameter '\(name)' must be \(accepts.description), got \(value)") }
    }

    public func value(of root: Root) -> ParameterValue? { get(root) }

    public static func integer(_ name: String, _ path: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .integer(range),
                  set: { root, value in
                      guard let n = Self.integer(value, range) else { return false }
                      root[keyPath: path] = n
                      return true
                  }, get: { .number(Double($0[keyPath: path])) })
    }

    public static func integer(_ name: String, _ path: WritableKeyPath<Root, Int?>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .integer(range),
                  set: { root, value in
                      guard let n = Self.integer(value, range) else { return false }
                      root[keyPath: path] = n
                      return true
                  }, get: { $0[keyPath: path].map { .number(Double($0)) } })
    }

    public static func number<F: BinaryFloatingPoint>(_ name: String, _ path: WritableKeyPath<Root, F>, _ range: ClosedRange<Double>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .number(range),
                  set: { root, value in
                      guard let n = Self.number(value), range.contains(n) else { return false }
                      root[keyPath: path] = F(n)
                      return true
                  }, get: {
                      // Through its shortest text, so a Float 0.01 reads back as 0.01, not 0.0099999997.
                      let v = $0[keyPath: path]
                      return .number(Double("\(v)") ?? Double(v))
                  })
    }

    /// A number that may be left unset (its default is then chosen at training time).
    public static func number(_ name: String, _ path: WritableKeyPath<Root, Double?>, _ range: ClosedRange<Double>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .number(range),
                  set: { root, value in
                      guard let n = Self.number(value), range.contains(n) else { return false }
                      root[keyPath: path] = n
                      return true
                  }, get: { $0[keyPath: path].map { .number($0) } })
    }

    public static func choice<E: RawRepresentable & CaseIterable>(_ name: String, _ path: WritableKeyPath<Root, E>, _ help: String) -> Parameter where E.RawValue == String {
        Parameter(name: name, help: help, accepts: .choice(E.allCases.map(\.rawValue)),
                  set: { root, value in
                      guard let s = Self.string(value), let e = E(rawValue: s) else { return false }
                      root[keyPath: path] = e
                      return true
                  }, get: { .string($0[keyPath: path].rawValue) })
    }

    /// Comma-separated whole numbers ("256,128"; empty: none) — digits and commas only — or
    /// one number.
    public static func integers(_ name: String, _ path: WritableKeyPath<Root, [Int]>, _ range: ClosedRange<Int>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .integers(range),
                  set: { root, value in
                      if case .number = value {
                          guard let n = Self.integer(value, range) else { return false }
                          root[keyPath: path] = [n]
                          return true
                      }
                      guard let s = Self.string(value) else { return false }
                      if s.isEmpty {
                          root[keyPath: path] = []
                          return true
                      }
                      var out: [Int] = []
                      for part in s.split(separator: ",", omittingEmptySubsequences: false) {
                          guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }), !(part.count > 1 && part.first == "0"),
                                let n = Int(part), range.contains(n) else { return false }
                          out.append(n)
                      }
                      root[keyPath: path] = out
                      return true
                  }, get: { .string($0[keyPath: path].map(String.init).joined(separator: ",")) })
    }

    public static func text(_ name: String, _ path: WritableKeyPath<Root, String?>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .text,
                  set: { root, value in
                      guard let s = Self.string(value), !s.isEmpty else { return false }
                      root[keyPath: path] = s
                      return true
                  }, get: { $0[keyPath: path].map { .string($0) } })
    }

    public static func flag(_ name: String, _ path: WritableKeyPath<Root, Bool>, _ help: String) -> Parameter {
        Parameter(name: name, help: help, accepts: .flag,
                  set: { root, value in
                      switch value {
                      case .bool(let b): root[keyPath: path] = b
                      case .text("true"): root[keyPath: path] = true
                      case .text("false"): root[keyPath: path] = false
                      default: return false
                      }
                      return true
                  }, get: { .bool($0[keyPath: path]) })
    }

    /// A number: a JSON number, or a flag's text that reads as one.
    static func number(_ value: ParameterValue) -> Double? {
        switch value {
        case .number(let n): return n.isFinite ? n : nil
        case .text(let s): return Double(s).flatMap { $0.isFinite ? $0 : nil }
        case .string, .bool: return nil
        }
    }

    /// A whole number within the range.
    static func integer(_ value: ParameterValue, _ range: ClosedRange<Int>) -> Int? {
        guard let n = number(value), n == n.rounded(), abs(n) < 1e15, range.contains(Int(n)) else { return nil }
        return Int(n)
    }

    /// A string: a JSON string, or a flag's text.
    static func string(_ value: ParameterValue) -> String? {
        switch value {
        case .string(let s), .text(let s): return s
        case .number, .bool: return nil
        }
    }
}
