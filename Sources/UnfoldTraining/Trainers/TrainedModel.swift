import UnfoldData
import UnfoldMath
import UnfoldModels

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
