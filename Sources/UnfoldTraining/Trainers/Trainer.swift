import UnfoldData
import UnfoldMath
import UnfoldModels

/// Trains one kind of model. Each trainer lives in one file with its kind's link
/// (`TrainerRecipe`); the pipeline does the rest — reading, evaluation, neighbours,
/// metadata, the snapshot — the same way for every kind.
public protocol Trainer {
    /// Epochs (alternating iterations for WALS) it will run, for progress reports.
    var epochs: Int { get }
    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel
}

/// The link from a kind's parameters (UnfoldModels, where the server can see them) to its
/// trainer (here): each trainer's file declares its parameters' conformance.
public protocol TrainerRecipe: ModelParameters {
    func makeTrainer() -> any Trainer
}

extension TrainingSpec {
    /// The trainer of this spec's kind.
    public func makeTrainer() throws -> any Trainer {
        guard let recipe = parameters as? any TrainerRecipe else { throw TrainingError("model kind '\(kind.name)' has no trainer in this build") }
        return recipe.makeTrainer()
    }
}

/// What training learns from: the interactions with their id spaces, and the users × items
/// matrix of summed weights.
public struct TrainingData: Sendable {
    public let interactions: Interactions
    public let matrix: CSRMatrix

    public init(_ interactions: Interactions) {
        self.interactions = interactions
        self.matrix = interactions.userItemMatrix()
    }

    public var itemIDs: [String] { interactions.items.ids }
    public var itemCount: Int { matrix.cols }
}

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

/// A trained model before the pipeline adds what every kind gets (neighbours, evaluation,
/// metadata), and what training knew that the model does not keep.
public struct TrainedModel {
    public var items: Matrix
    public var encoder: QueryEncoder
    public var epochs: [EpochRecord]
    /// The trained user vectors (WALS, mf-sgd): diagnostics compare them with the encoder.
    public var userVectors: Matrix?
    /// Hyperparameters chosen during training (e.g. mf-sgd's fold-in scale).
    public var chosen: [String: Double] = [:]
    /// How it was solved, e.g. `cholesky` or `adagrad/bpr/uniform`.
    public var solver: String
    /// The training users' query features (softmax with a users file), by user index:
    /// evaluation queries with them.
    public var userFeatures: [[String: FeatureValue]]?

    public init(items: Matrix, encoder: QueryEncoder, epochs: [EpochRecord], userVectors: Matrix? = nil, chosen: [String: Double] = [:], solver: String) {
        self.items = items
        self.encoder = encoder
        self.epochs = epochs
        self.userVectors = userVectors
        self.chosen = chosen
        self.solver = solver
    }

    /// The model as far as training knows it (no neighbours, minimal metadata): what
    /// per-epoch evaluation serves.
    public func model(_ data: TrainingData, kind: ModelKind) -> Model {
        Model(kind: kind, version: 0, createdAt: 0, items: ItemTable(ids: data.itemIDs, vectors: items), encoder: encoder,
              popularity: data.interactions.itemCounts(),
              metadata: ModelMetadata(name: kind.name, kind: kind.name, version: 0, createdAt: "", hyperparameters: [:], solver: solver,
                                      data: .init(source: "", fingerprint: "", users: data.matrix.rows, items: data.matrix.cols, interactions: data.interactions.count)))
    }
}

/// A training run that cannot go on; the message says why.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
