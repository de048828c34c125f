import UnfoldData
import UnfoldMath
import UnfoldModels

/// What a trainer gets besides the data: threads, the seed, where its epochs go, and
/// (with `eval_every_epoch`) a held-out evaluation through serving.
public struct TrainingContext {
    public var threads: Int
    public var seed: UInt64
    /// Called after every epoch.
    public var onEpoch: (EpochRecord) -> Void = { _ in }
    /// A line for the progress stream.
    public var note: (String) -> Void = { _ in }
    /// A phase change for the progress stream.
    public var phase: (TrainingProgress.Phase, String) -> Void = { _, _ in }
    /// Held-out NDCG@k of a model as it would be served (with the training users' query
    /// features, if any), after an epoch (untimed); with trained user vectors, of those too.
    public var evaluate: ((Model, _ userVectors: Matrix?, _ features: [[String: FeatureValue]]?) -> (served: Double, trainedUsers: Double?))?

    public init(threads: Int, seed: UInt64) {
        self.threads = threads
        self.seed = seed
    }
}
