/// Parameters every training run takes, whatever the model kind.
public struct CommonParameters: ParameterSet, Equatable {
    /// Threads (0: one per core).
    public var threads = 0
    public var seed = 42
    /// Nearest neighbours precomputed per item (0: none).
    public var neighbours = 100
    /// Cut-off k of the held-out metrics.
    public var k = 10
    /// Held-out NDCG@k after every epoch into the metadata (needs test data; untimed).
    public var evalEveryEpoch = false
    /// Build the approximate index for catalogues of at least this many items (0: never).
    public var annMinItems = 100_000

    public init() {}

    public static let parameters: [Parameter<CommonParameters>] = [
        .integer("threads", \.threads, 0...1024, "threads (0: one per core)"),
        .integer("seed", \.seed, 0...Int(Int32.max), "random seed"),
        .integer("neighbours", \.neighbours, 0...10_000, "nearest neighbours precomputed per item (0: none)"),
        .integer("k", \.k, 1...1000, "cut-off k of the held-out metrics"),
        .flag("eval_every_epoch", \.evalEveryEpoch, "held-out NDCG@k after every epoch into the metadata (mf-sgd, softmax; needs test data)"),
        .integer("ann_min_items", \.annMinItems, 0...Int(Int32.max), "build the approximate index for catalogues of at least this many items (0: never)"),
    ]
}
