extension ModelKind {
    public static let item2vec = ModelKind(rawValue: 4, name: "item2vec", encoder: .meanPooling, parameters: Item2VecParameters.self)
}

/// Skip-gram with negative sampling over item sequences and random walks (see `Item2Vec`
/// in UnfoldTraining).
public struct Item2VecParameters: ModelParameters, Equatable {
    public var factors = 64
    public var window = 5
    public var epochs = 20
    public var negatives = 1
    public var learningRate: Float = 0.05
    public var subsample = 1e-3
    public var walks = 0
    public var walkLength = 20

    public init() {}

    public static var kind: ModelKind { .item2vec }

    public static let parameters: [Parameter<Item2VecParameters>] = [
        .integer("factors", \.factors, 1...1024, "embedding dimension d"),
        .integer("window", \.window, 1...1000, "context window (a random size 1…window per center, as word2vec)"),
        .integer("epochs", \.epochs, 1...1_000_000_000, "passes over the sequences"),
        .integer("negatives", \.negatives, 1...1000, "negatives per (center, context) pair, from unigram^0.75"),
        .number("learning_rate", \.learningRate, 1e-9...1e3, "starting learning rate (decays linearly)"),
        .number("subsample", \.subsample, 0...1, "subsampling threshold t (0: off)"),
        .integer("walks", \.walks, 0...10_000, "random walks per item on the transition graph (0: none)"),
        .integer("walk_length", \.walkLength, 2...10_000, "items per random walk"),
    ]
}
