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
    /// Per training epoch (per alternating iteration for WALS): loss, seconds and the tables'
    /// stable ranks.
    public var epochs: [EpochRecord]
    /// How it was trained: the spec the trainer ran (absent in snapshots written before
    /// specs existed); for an import, the spec that trains it again on its engine.
    public var recipe: TrainingSpec?
    /// The hyperparameter search that chose the recipe's parameters (`--tune`), if any.
    public var tuning: TuningRecord?
    /// Where an imported model came from (`unfold import`); nil for a model Unfold trained.
    public var imported: Import?

    public struct Import: Sendable, Codable, Equatable {
        /// What wrote it, e.g. `spark-als`.
        public var from: String
        /// The exchange directory it was read from (path or URL).
        public var location: String
        /// The engine's version, e.g. Spark's.
        public var engineVersion: String
        /// When the engine wrote it.
        public var createdAt: String

        public init(from: String, location: String, engineVersion: String, createdAt: String) {
            self.from = from
            self.location = location
            self.engineVersion = engineVersion
            self.createdAt = createdAt
        }

        enum CodingKeys: String, CodingKey {
            case from, location
            case engineVersion = "engine_version", createdAt = "created_at"
        }
    }

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
                itemSpectrum: [Double] = [], trainingSeconds: Double = 0, lossHistory: [Double] = [], epochs: [EpochRecord] = [], recipe: TrainingSpec? = nil) {
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
        self.epochs = epochs
        self.recipe = recipe
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        kind = try c.decode(String.self, forKey: .kind)
        version = try c.decode(UInt64.self, forKey: .version)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        hyperparameters = try c.decode([String: Double].self, forKey: .hyperparameters)
        solver = try c.decodeIfPresent(String.self, forKey: .solver)
        data = try c.decode(DataSummary.self, forKey: .data)
        evaluation = try c.decode([String: Double].self, forKey: .evaluation)
        popularityBaseline = try c.decode([String: Double].self, forKey: .popularityBaseline)
        stableRank = try c.decode([String: Double].self, forKey: .stableRank)
        itemSpectrum = try c.decode([Double].self, forKey: .itemSpectrum)
        trainingSeconds = try c.decode(Double.self, forKey: .trainingSeconds)
        lossHistory = try c.decode([Double].self, forKey: .lossHistory)
        // Snapshots written before per-epoch records existed have none.
        epochs = try c.decodeIfPresent([EpochRecord].self, forKey: .epochs) ?? []
        recipe = try c.decodeIfPresent(TrainingSpec.self, forKey: .recipe)
        tuning = try c.decodeIfPresent(TuningRecord.self, forKey: .tuning)
        imported = try c.decodeIfPresent(Import.self, forKey: .imported)
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, version, solver, data, evaluation, hyperparameters
        case createdAt = "created_at"
        case popularityBaseline = "popularity_baseline"
        case stableRank = "stable_rank"
        case itemSpectrum = "item_spectrum"
        case trainingSeconds = "training_seconds"
        case lossHistory = "loss_history"
        case epochs, recipe, tuning, imported
    }
}
