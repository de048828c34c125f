/// A kind of model Unfold trains: its snapshot id, its name, the encoder that serves it and
/// the parameters that train it. Each kind is declared beside its parameters
/// (`Recipe/*Parameters.swift`); `all` is the registry.
public struct ModelKind: Sendable, Hashable, CustomStringConvertible {
    /// Stored in snapshot headers; never reused.
    public let rawValue: UInt32
    public let name: String
    /// The encoder its snapshots must carry.
    public let encoder: EncoderKind
    public let parameters: any ModelParameters.Type

    public enum EncoderKind: Sendable { case foldIn, tower, meanPooling }

    public init(rawValue: UInt32, name: String, encoder: EncoderKind, parameters: any ModelParameters.Type) {
        self.rawValue = rawValue
        self.name = name
        self.encoder = encoder
        self.parameters = parameters
    }

    /// Every kind, in the order help texts list them.
    public static let all: [ModelKind] = [.wals, .mfSGD, .softmax, .item2vec]

    public init?(rawValue: UInt32) {
        guard let kind = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = kind
    }

    public init?(name: String) {
        guard let kind = Self.all.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    public static var names: [String] { all.map(\.name) }

    public var description: String { name }

    public static func == (a: ModelKind, b: ModelKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
}

extension ModelKind: Codable {
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let kind = ModelKind(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown model kind '\(name)'; available: \(Self.names.joined(separator: ", "))"))
        }
        self = kind
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
