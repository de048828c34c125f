/// What is known about a trained model besides its numbers; stored as JSON in the snapshot.
public struct ModelMetadata: Sendable, Codable, Equatable {
    public var name: String
    public var kind: String
    public var version: UInt64
    public var createdAt: String
    public var hyperparameters: [String: Double]
    public var solver: String?
    public var data: DataSummary
    /// Held-out metrics when a test set was given, e.g. `ndcg@10`.
    public var evaluation: [String: Double]
    public var popularityBaseline: [String: Double]
    public var stableRank: [String: Double]
    /// Singular values of the item table, largest first.
    public var itemSpectrum: [Double]
    public var trainingSeconds: Double
    public var lossHistory: [Double]

    public struct DataSummary: Sendable, Codable, Equatable {
        public var source: String
        public var fingerprint: String
        public var users: Int
        public var items: Int
        public var interactions: Int
        public init(source: String, fingerprint: String, users: Int, items: Int, interactions: Int) {
            self.source = source
            self.fingerprint = fingerprint
            self.users = users
            self.items = items
            self.interactions = interactions
        }
    }

    public init(name: String, kind: String, version: UInt64, createdAt: String, hyperparameters: [String: Double], solver: String?, data: DataSummary,
                evaluation: [String: Double] = [:], popularityBaseline: [String: Double] = [:], stableRank: [String: Double] = [:],
                itemSpectrum: [Double] = [], trainingSeconds: Double = 0, lossHistory: [Double] = []) {
        self.name = name
        self.kind = kind
        self.version = version
        self.createdAt = createdAt
        self.hyperparameters = hyperparameters
        self.solver = solver
        self.data = data
        self.evaluation = evaluation
        self.popularityBaseline = popularityBaseline
        self.stableRank = stableRank
        self.itemSpectrum = itemSpectrum
        self.trainingSeconds = trainingSeconds
        self.lossHistory = lossHistory
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, version, solver, data, evaluation, hyperparameters
        case createdAt = "created_at"
        case popularityBaseline = "popularity_baseline"
        case stableRank = "stable_rank"
        case itemSpectrum = "item_spectrum"
        case trainingSeconds = "training_seconds"
        case lossHistory = "loss_history"
    }
}
