extension ModelKind {
    public static let wals = ModelKind(rawValue: 1, name: "wals", encoder: .foldIn, parameters: WALSParameters.self)
}

/// Weighted alternating least squares (see `WALS` in UnfoldTraining).
public struct WALSParameters: ModelParameters, Equatable {
    public enum Solver: String, Sendable, CaseIterable { case cholesky, cg }
    /// How λ is read: as is for both sides (`constant`), as a fraction of the mean observed
    /// confidence mass of each side's rows (`scaled`: users get λ·Σc/N_users, items
    /// λ·Σc/N_items, Σc summed over the observed cells), or per
    /// positive cell of each row (`als-wr`: λ·n_row, n_row the row's cells with r > 0, as
    /// Spark ML's implicit ALS; a cell with r = 0 then adds nothing).
    public enum RegularizationMode: String, Sendable, CaseIterable {
        case constant, scaled
        case alsWR = "als-wr"
    }

    public var factors = 64
    public var iterations = 15
    public var regularization: Float = 0.22
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
        .choice("regularization_mode", \.regularizationMode, "constant (λ for both sides), scaled (each side λ times its rows' mean observed confidence Σc/rows) or als-wr (λ·n per row, n its cells with r > 0: Spark's objective)"),
        .number("alpha", \.alpha, 0...1e9, "confidence slope α in c = 1 + α r"),
        .number("unobserved_weight", \.unobservedWeight, 0...1e9, "weight w0 of unobserved cells"),
        .number("recency_boost", \.recencyBoost, 0...1e6, "κ: the served fold-in weighs an item's confidence by 1 + κ·2^(−a/h), a = newer items after it (0: off)"),
        .number("recency_half_life", \.recencyHalfLife, 0.01...1e6, "h: newer items after which an item's recency boost halves"),
        .choice("solver", \.solver, "cholesky (exact) or cg (conjugate gradient)"),
        .integer("cg_steps", \.cgSteps, 1...1000, "conjugate-gradient steps per row"),
    ]
}

extension WALSParameters {
    /// The λ the rows of one side are regularized with, that side having `rows` rows and the
    /// observed cells a confidence mass Σc = Σ (1 + α|r|) (under ALS-WR, per positive cell).
    public func lambda(rows: Int, observedMass: Double) -> Float {
        switch regularizationMode {
        case .constant, .alsWR: return regularization
        case .scaled: return Float(Double(regularization) * observedMass / Double(max(rows, 1)))
        }
    }

    /// Σ (1 + α|r|) over the observed cells.
    public func observedMass<C: Collection<Float>>(_ weights: C) -> Double {
        weights.reduce(0.0) { $0 + 1 + Double(alpha) * Double(abs($1)) }
    }

    /// The fold-in problem the rows solve.
    public var objective: FoldIn.Objective { regularizationMode == .alsWR ? .alsWR : .wals }
}
