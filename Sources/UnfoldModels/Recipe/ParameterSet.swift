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
