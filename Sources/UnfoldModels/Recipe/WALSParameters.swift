extension ModelKind {
    public static let wals = ModelKind(rawValue: 1, name: "wals", encoder: .foldIn, parameters: WALSParameters.self)
}

/// Weighted alternating least squares (see `WALS` in UnfoldTraining).
public struct WALSParameters: ModelParameters, Equatable {
    public enum Solver: String, Sendable, CaseIterable { case cholesky, cg }

    public var factors = 64
    public var iterations = 15
    public var regularization: Float = 0.01
    public var alpha: Float = 1
    public var unobservedWeight: Float = 1
    public var solver: Solver = .cholesky
    public var cgSteps = 3

    public init() {}

    public static var kind: ModelKind { .wals }

    public static let parameters: [Parameter<WALSParameters>] = [
        .integer("factors", \.factors, 1...1024, "embedding dimension d"),
        .integer("iterations", \.iterations, 1...1_000_000_000, "alternating iterations"),
        .number("regularization", \.regularization, 0...1e9, "L2 regularization λ"),
        .number("alpha", \.alpha, 0...1e9, "confidence slope α in c = 1 + α r"),
        .number("unobserved_weight", \.unobservedWeight, 0...1e9, "weight w0 of unobserved cells"),
        .choice("solver", \.solver, "cholesky (exact) or cg (conjugate gradient)"),
        .integer("cg_steps", \.cgSteps, 1...1000, "conjugate-gradient steps per row"),
    ]
}
