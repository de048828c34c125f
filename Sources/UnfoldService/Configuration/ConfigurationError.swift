/// Where a setting came from, so an error can say what to fix.
public enum ConfigurationSource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case environment(String)
    case flag(String)

    public var description: String {
        switch self {
        case .file(let path): return "in \(path)"
        case .environment(let name): return "in environment variable \(name)"
        case .flag(let name): return "in flag \(name)"
        }
    }
}

/// A configuration that must not start the server.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadableFile(path: String, reason: String)
    case unknownKey(String, ConfigurationSource)
    case badValue(key: String, ConfigurationSource, reason: String)
    case unexpectedArgument(String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            return "cannot read configuration file \(path): \(reason)"
        case .unknownKey(let key, let source):
            let known = ConfigurationKey.all.map(\.name).joined(separator: ", ")
            return "unknown configuration key '\(key)' \(source); known keys: \(known)"
        case .badValue(let key, let source, let reason):
            return "bad value for '\(key)' \(source): \(reason)"
        case .unexpectedArgument(let argument):
            return "unexpected argument '\(argument)'; settings are given as --key value"
        }
    }
}
