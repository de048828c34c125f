/// The kinds of model Unfold trains; the raw value is stored in snapshot headers.
public enum ModelKind: UInt32, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case wals = 1
    case mfSGD = 2
    case softmax = 3
    case item2vec = 4

    public var name: String {
        switch self {
        case .wals: return "wals"
        case .mfSGD: return "mf-sgd"
        case .softmax: return "softmax"
        case .item2vec: return "item2vec"
        }
    }

    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    public var description: String { name }
}
