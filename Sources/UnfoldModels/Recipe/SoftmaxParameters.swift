extension ModelKind {
    public static let softmax = ModelKind(rawValue: 3, name: "softmax", encoder: .tower, parameters: SoftmaxParameters.self)
}

/// The softmax DNN: a query tower over the user's items and features, trained with sampled
/// softmax (see `SoftmaxDNN` in UnfoldTraining).
public struct SoftmaxParameters: ModelParameters, Equatable {
    public enum Sampler: String, Sendable, CaseIterable { case uniform, popularity }

    /// d: the item table's and the query's dimension.
    public var factors = 64
    /// e: the width of the input item embeddings (nil: d).
    public var inputDimensions: Int?
    /// Hidden ReLU layers (the output layer to d comes after them).
    public var hidden = [128]
    public var featureDimensions = 8
    public var epochs = 20
    public var learningRate: Float = 0.002
    /// Chosen on two validation splits carved from MovieLens-100k's training part (docs/algorithms.md).
    public var regularization: Float = 0.001
    public var negatives = 100
    public var sampler: Sampler = .uniform
    public var beta = 0.75
    public var batchSize = 64
    /// Probability that an example's bag is dropped, so the tower learns to answer new users
    /// from their features alone (cold start).
    public var bagDropout: Float = 0
    /// A users file (TSV with a header: user id, then feature columns; RecBole `.user`).
    public var userFeatures: String?
    /// Feature columns to use, each optionally typed (`age:numeric,gender`); nil: all.
    public var features: String?
    public var initScale: Float = 0.1

    public init() {}

    public static var kind: ModelKind { .softmax }

    public var inputWidth: Int { inputDimensions ?? factors }

    public static let parameters: [Parameter<SoftmaxParameters>] = [
        .integer("factors", \.factors, 1...1024, "embedding dimension d"),
        .integer("input_dimensions", \.inputDimensions, 1...4096, "width of the input item embeddings (default: factors)"),
        .integers("hidden", \.hidden, 1...4096, "hidden ReLU layer widths, comma-separated (e.g. 256,128; empty: none)"),
        .integer("feature_dimensions", \.featureDimensions, 1...4096, "embedding width of each categorical feature"),
        .integer("epochs", \.epochs, 1...1_000_000_000, "passes over the examples"),
        .number("learning_rate", \.learningRate, 1e-9...1e3, "Adam's learning rate"),
        .number("regularization", \.regularization, 0...1e9, "L2 regularization λ on the item rows a batch touches"),
        .integer("negatives", \.negatives, 1...100_000, "sampled negatives per example"),
        .choice("sampler", \.sampler, "uniform or popularity"),
        .number("beta", \.beta, 0...10, "popularity sampler exponent β in count^β"),
        .integer("batch_size", \.batchSize, 1...1_000_000, "examples per update (consecutive examples of one user)"),
        .number("bag_dropout", \.bagDropout, 0...0.999_999, "probability an example's item bag is dropped, teaching answers from features alone"),
        .text("user_features", \.userFeatures, "users file: TSV with a header, user id then feature columns (RecBole .user)"),
        .text("features", \.features, "feature columns to use, each optionally typed, e.g. age:numeric,gender,occupation (default: all)"),
    ]
}
