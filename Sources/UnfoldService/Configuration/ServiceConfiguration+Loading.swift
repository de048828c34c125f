import Foundation

extension ServiceConfiguration {
    /// Loads the file (if any), then applies `UNFOLD_*` variables, then `--key value` (or
    /// `--key=value`) flags from `arguments`, each named after a key of the table.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                            arguments: [String]) throws(ConfigurationError) -> ServiceConfiguration {
        try load(file: file, environment: environment, flags: try flags(arguments))
    }

    /// `--key value` and `--key=value` pairs as (key, flag, value); an unknown flag or one
    /// without a value is refused.
    static func flags(_ arguments: [String]) throws(ConfigurationError) -> [(key: String, flag: String, value: String)] {
        var out: [(key: String, flag: String, value: String)] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else { throw .unexpectedArgument(argument) }
            var flag = argument, value: String?
            if let equals = argument.firstIndex(of: "=") {
                flag = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            }
            let name = String(flag.dropFirst(2)).replacingOccurrences(of: "-", with: "_")
            guard ConfigurationKey.named(name) != nil else { throw .unknownKey(name, .flag(flag)) }
            if value == nil {
                guard i + 1 < arguments.count else { throw .badValue(key: name, .flag(flag), reason: "the flag needs a value") }
                i += 1
                value = arguments[i]
            }
            out.append((name, flag, value!))
            i += 1
        }
        return out
    }

    /// The table of docs/configuration.md, and the flags' help, from the key table.
    public static var markdownTable: String { ConfigurationKey.markdownTable }
    public static var flagHelp: String { ConfigurationKey.flagHelp }

    /// Loads the file (if any), then applies `UNFOLD_*` variables, then flag values.
    ///
    /// - Parameters:
    ///   - file: a JSON object of settings; nil for the built-in defaults.
    ///   - environment: the process environment; unrelated variables are ignored.
    ///   - flags: setting name → (flag as typed, value), applied last.
    public static func load(
        file: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        flags: [(key: String, flag: String, value: String)] = []
    ) throws(ConfigurationError) -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        if let file {
            try configuration.apply(file: file)
        }
        for key in ConfigurationKey.all {
            if let value = environment[key.environmentName] {
                try configuration.set(key, text: value, source: .environment(key.environmentName))
            }
        }
        for (name, flag, value) in flags {
            guard let key = ConfigurationKey.named(name) else { throw .unknownKey(name, .flag(flag)) }
            try configuration.set(key, text: value, source: .flag(flag))
        }
        return configuration
    }

    private mutating func apply(file path: String) throws(ConfigurationError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        let object: [String: JSONScalar]
        do {
            object = try JSONDecoder().decode([String: JSONScalar].self, from: data)
        } catch {
            throw .unreadableFile(path: path, reason: "not a JSON object of settings (\(error))")
        }
        for name in object.keys.sorted() {
            guard let key = ConfigurationKey.named(name) else { throw .unknownKey(name, .file(path)) }
            try set(key, json: object[name]!, source: .file(path))
        }
    }

    private mutating func set(_ key: ConfigurationKey, json: JSONScalar, source: ConfigurationSource) throws(ConfigurationError) {
        switch (key.kind, json) {
        case (.integer, .integer(let v)): try set(key, integer: v, source: source)
        case (.seconds, .integer(let v)): try set(key, seconds: Double(v), source: source)
        case (.seconds, .number(let v)): try set(key, seconds: v, source: source)
        case (.choice, .string(let v)), (.text, .string(let v)): try set(key, text: v, source: source)
        case (.flag(let path), .bool(let v)): self[keyPath: path] = v
        case (.weights(let path), .object(let object)):
            var weights: [String: Float] = [:]
            for (name, value) in object { weights[name] = Float(value) }
            try Self.check(key, weights, source: source)
            self[keyPath: path] = weights
        case (.weights, _): throw .badValue(key: key.name, source, reason: "expected an object of names to numbers, got \(json)")
        case (.flag, _): throw .badValue(key: key.name, source, reason: "expected true or false, got \(json)")
        case (.integer, _): throw .badValue(key: key.name, source, reason: "expected a whole number, got \(json)")
        case (.seconds, _): throw .badValue(key: key.name, source, reason: "expected a number of seconds, got \(json)")
        case (.choice, _), (.text, _): throw .badValue(key: key.name, source, reason: "expected a string, got \(json)")
        }
    }

    private mutating func set(_ key: ConfigurationKey, text: String, source: ConfigurationSource) throws(ConfigurationError) {
        switch key.kind {
        case .integer:
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else {
                throw .badValue(key: key.name, source, reason: "expected a whole number, got '\(text)'")
            }
            try set(key, integer: v, source: source)
        case .seconds:
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw .badValue(key: key.name, source, reason: "expected a number of seconds, got '\(text)'")
            }
            try set(key, seconds: v, source: source)
        case .flag(let path):
            switch text.trimmingCharacters(in: .whitespaces) {
            case "true": self[keyPath: path] = true
            case "false": self[keyPath: path] = false
            default: throw .badValue(key: key.name, source, reason: "expected true or false, got '\(text)'")
            }
        case .choice(let choices, let path):
            guard choices.contains(text) else {
                throw .badValue(key: key.name, source, reason: "'\(text)' is not one of \(choices.joined(separator: ", "))")
            }
            self[keyPath: path] = text
        case .text(let path, let allowEmpty):
            if !allowEmpty && text.isEmpty {
                throw .badValue(key: key.name, source, reason: "must not be empty")
            }
            self[keyPath: path] = text
        case .weights(let path):
            var weights: [String: Float] = [:]
            for pair in text.split(separator: ",", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let w = Float(parts[1].trimmingCharacters(in: .whitespaces)) else {
                    throw .badValue(key: key.name, source, reason: "expected name=number pairs separated by commas, got '\(pair)'")
                }
                weights[parts[0].trimmingCharacters(in: .whitespaces)] = w
            }
            try Self.check(key, weights, source: source)
            self[keyPath: path] = weights
        }
    }

    /// Type names as the log stores them, weights finite and not zero.
    private static func check(_ key: ConfigurationKey, _ weights: [String: Float], source: ConfigurationSource) throws(ConfigurationError) {
        for name in weights.keys.sorted() {
            let w = weights[name]!
            if name.isEmpty || name.utf8.count > 64 || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }) {
                throw .badValue(key: key.name, source, reason: "type '\(name)' must be 1 to 64 letters, digits, '_', '-' or '.'")
            }
            if !w.isFinite || w == 0 || abs(w) > 1e6 {
                throw .badValue(key: key.name, source, reason: "weight of '\(name)' must be a non-zero number between -1000000 and 1000000")
            }
        }
    }

    private mutating func set(_ key: ConfigurationKey, integer: Int, source: ConfigurationSource) throws(ConfigurationError) {
        guard case .integer(let range, let path) = key.kind else { return }
        guard range.contains(integer) else {
            throw .badValue(key: key.name, source, reason: "\(integer) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        self[keyPath: path] = integer
    }

    private mutating func set(_ key: ConfigurationKey, seconds: Double, source: ConfigurationSource) throws(ConfigurationError) {
        guard case .seconds(let range, let path) = key.kind else { return }
        guard range.contains(seconds) else {
            throw .badValue(key: key.name, source, reason: "\(seconds) is outside \(range.lowerBound)...\(range.upperBound) seconds")
        }
        self[keyPath: path] = seconds
    }
}

/// A JSON value as a settings file may hold it.
enum JSONScalar: Decodable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case string(String)
    case bool(Bool)
    /// An object of numbers (`event_types`).
    case object([String: Double])
    case null
    case other

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let v = try? container.decode(Bool.self) { self = .bool(v) }
        else if let v = try? container.decode(Int.self) { self = .integer(v) }
        else if let v = try? container.decode(Double.self) { self = .number(v) }
        else if let v = try? container.decode(String.self) { self = .string(v) }
        else if let v = try? container.decode([String: Double].self) { self = .object(v) }
        else { self = .other }
    }

    var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .number(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        case .bool(let v): return String(v)
        case .object: return "an object of numbers"
        case .null: return "null"
        case .other: return "an array or object"
        }
    }
}
