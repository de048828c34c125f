/// Why a request's features do not fit the model's schema.
public enum FeatureError: Error, Equatable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case wrongType(name: String, expected: FeatureSpec.Kind)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown feature '\(name)'; this model's features are: " + (known.isEmpty ? "(none)" : known.joined(separator: ", "))
        case .wrongType(let name, let expected):
            return "feature '\(name)' must be " + (expected == .numeric ? "a number" : "a string")
        }
    }
}
