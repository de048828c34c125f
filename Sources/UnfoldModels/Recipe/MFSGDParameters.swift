extension ModelKind {
    public static let mfSGD = ModelKind(rawValue: 2, name: "mf-sgd", encoder: .foldIn, parameters: MFSGDParameters.self)
}

/// Matrix factorization by stochastic gradient descent with negative sampling (see `MFSGD`
/// in UnfoldTraining).
public struct MFSGDParameters: ModelParameters, Equatable {
    public enum Loss: String, Sendable, CaseIterable { case bpr, bce, softmax }
    public enum Sampler: String, Sendable, CaseIterable { case none, uniform, popularity, hard, inBatch = "in-batch" }

    public var factors = 64
    public var epochs = 20
    public var learningRate: Float = 0.05
    public var regularization: Float = 0.01
    public var loss: Loss = .bpr
    public var sampler: Sampler = .uniform
    /// Negatives per positive (BPR uses one).
    public var negatives = 1
    /// Positives per update (1: plain SGD).
    public var batchSize = 1
    public var optimizer: Optimizer = .adagrad
    /// The popularity sampler's exponent β in count^β.
    public var beta = 0.75
    public var hardCandidates = 20
    /// The served fold-in's λ as a multiple of the mean squared item norm; nil: chosen.
    public var foldInScale: Double?
    public var gravity: Float = 0
    public var stableRankWeight: Float = 0
    public var stableRankEpochs = 0
    public var initScale: Float = 0.1

    public init() {}

    public static var kind: ModelKind { .mfSGD }

    public static let parameters: [Parameter<MFSGDParameters>] = [
        .integer("factors", \.factors, 1...1024, "embedding dimension d"),
        .integer("epochs", \.epochs, 1...1_000_000_000, "passes over the interactions"),
        .number("learning_rate", \.learningRate, 1e-9...1e3, "learning rate η"),
        .number("regularization", \.regularization, 0...1e9, "L2 regularization λ on the rows an example touches"),
        .choice("loss", \.loss, "bpr, bce or softmax (sampled, with logQ correction)"),
        .choice("sampler", \.sampler, "negatives from none (positives only), uniform, popularity, hard or in-batch"),
        .integer("negatives", \.negatives, 1...100_000, "negatives per positive (bpr uses one)"),
        .integer("batch_size", \.batchSize, 1...1_000_000, "positives per update (1: plain SGD; in-batch needs 2 or more)"),
        .choice("optimizer", \.optimizer, "sgd, adagrad or adam"),
        .number("beta", \.beta, 0...10, "popularity sampler exponent β in count^β"),
        .integer("hard_candidates", \.hardCandidates, 1...100_000, "uniform candidates per hard negative"),
        .number("fold_in_scale", \.foldInScale, 0...1e12, "the served fold-in's λ as a multiple of the mean squared item norm (default: the one of 1, 10, …, 10⁴ whose rankings best agree with the trained user vectors')"),
        .number("gravity", \.gravity, 0...1e9, "weight of the gravity regularizer (0: off)"),
        .number("srank_weight", \.stableRankWeight, 0...1e9, "weight γ of the stable-rank regularizer −γ·srank/d per mini-batch (needs batch_size > 1; 0: off)"),
        .integer("srank_epochs", \.stableRankEpochs, 0...100_000, "epochs the stable-rank regularizer stays on (a warm start)"),
    ]
}
