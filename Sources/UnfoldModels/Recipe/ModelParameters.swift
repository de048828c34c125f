/// The parameters of one model kind.
public protocol ModelParameters: ParameterSet {
    static var kind: ModelKind { get }
    /// The embedding dimension d.
    var factors: Int { get }
}
