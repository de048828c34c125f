extension ModelKind {
    public static let wals = ModelKind(rawValue: 1, name: "wals", encoder: .foldIn, parameters: WALSParameters.self)
}

/// Weighted alternating least squares (see `WALS` in UnfoldTraining).
public struct WALSParameters: ModelParameters, Equatable {
    public enum Solver: String, Sendable, CaseIterable { case cholesky, cg }
    /// How λ is read: as is for both sides (`constant`), or as a fraction of each side's
    /// unobserved mass (`scaled`: users get λ·w0·N_items, items λ·w0·N_users).
    public enum RegularizationMode: String, Sendable, CaseIterable { case constant, scaled }

    public var factors = 64
    public var iterations = 15
    public var regularization: Float = 0.005
    public var regularizationMode: RegularizationMode = .scaled
    public var alpha: Float = 0.1
    public var unobservedWeight: Float = 3
    /// κ and h of the served fold-in's recency weighting (see `FoldIn`); κ = 0 turns it off.
    public var recencyBoost: Float = 32
    public var recencyHalfLife: Float = 2
    public var solver: Solver = .cholesky
    public var cgSteps = 3

    public init() {}

    public static var kind: ModelKind { .wals }

    public static let parameters: [Parameter<WALSParameters>] = [
        .integer("factors", \.factors, 1...1024, "embedding dimension d"),
        .integer("iterations", \.iterations, 1...1_000_000_000, "alternating iterations"),
        .number("regularization", \.regularization, 0...1e9, "L2 regularization λ"),
        .choice("regularization_mode", \.regularizationMode, "constant (λ for both sides) or scaled (users λ·w0·N_items, items λ·w0·N_users)"),
        .number("alpha", \.alpha, 0...1e9, "confidence slope α in c = 1 + α r"),
        .number("unobserved_weight", \.unobservedWeight, 0...1e9, "weight w0 of unobserved cells"),
        .number("recency_boost", \.recencyBoost, 0...1e6, "κ: the served fold-in weighs an item's confidence by 1 + κ·2^(−a/h), a = newer items after it (0: off)"),
        .number("recency_half_life", \.recencyHalfLife, 0.01...1e6, "h: newer items after which an item's recency boost halves"),
        .choice("solver", \.solver, "cholesky (exact) or cg (conjugate gradient)"),
        .integer("cg_steps", \.cgSteps, 1...1000, "conjugate-gradient steps per row"),
    ]
}

extension WALSParameters {
    /// The λ a row is regularized with when the other side has `otherRows` rows.
    public func lambda(otherRows: Int) -> Float {
        switch regularizationMode {
        case .constant: return regularization
        case .scaled: return regularization * unobservedWeight * Float(otherRows)
        }
    }
}
