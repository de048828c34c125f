/// A user's features as the tower reads them: per feature in schema order, the embedding
/// row (categorical) or the standardized input (numeric).
public struct FeatureInput: Sendable, Equatable {
    public var rows: [Int]
    public var inputs: [Float]

    /// No features (a model without a schema).
    public static let none = FeatureInput(rows: [], inputs: [])

    public init(rows: [Int], inputs: [Float]) {
        self.rows = rows
        self.inputs = inputs
    }

    /// Values already known to fit the schema (a trainer's features file): missing ones take
    /// their defaults.
    public init(_ values: [String: FeatureValue], schema: [FeatureSpec]) {
        rows = schema.map { $0.kind == .categorical ? $0.row(values[$0.name]) : 0 }
        inputs = schema.map { $0.kind == .numeric ? $0.input(values[$0.name]) : 0 }
    }

    /// Values from a caller: a name the schema does not have, or a value of the wrong type,
    /// throws. Missing features take their defaults.
    public init(validating values: [String: FeatureValue], schema: [FeatureSpec]) throws(FeatureError) {
        for (name, value) in values {
            guard let spec = schema.first(where: { $0.name == name }) else { throw .unknown(name: name, known: schema.map(\.name)) }
            switch (spec.kind, value) {
            case (.numeric, .number), (.categorical, .string): break
            default: throw .wrongType(name: name, expected: spec.kind)
            }
        }
        self.init(values, schema: schema)
    }
}
