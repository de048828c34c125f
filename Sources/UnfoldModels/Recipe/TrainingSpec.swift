/// What to train: the one contract between whoever asks for a model (`unfold train`'s
/// flags, `POST /admin/retrain`, the job supervisor) and the trainer. The supervisor
/// writes it as JSON for the trainer process; the snapshot's metadata keeps it as the
/// recipe.
public struct TrainingSpec: Sendable {
    /// Who trains: Unfold's own trainer process, or Apache Spark (`spark-submit` of
    /// spark/unfold_als.py, then an import of its exchange directory; WALS under ALS-WR only).
    public enum Engine: String, Sendable, Codable, CaseIterable { case local, spark }

    public var kind: ModelKind
    /// The snapshot name (default: the kind's name).
    public var name: String
    public var parameters: any ModelParameters
    public var common: CommonParameters
    public var data: DataSource
    /// Search the hyperparameters before training (nil: train the parameters as given).
    public var tune: TuningRequest?
    public var engine: Engine = .local

    /// Parameters by name, each in the kind's table or the common one: an unknown name or a
    /// bad value throws, naming it.
    public init(kind: ModelKind, name: String? = nil, values: [String: ParameterValue], data: DataSource, engine: Engine = .local) throws(ParameterError) {
        let own = Set(kind.parameters.parameterNames), common = Set(CommonParameters.parameterNames)
        var values = values
        if engine == .spark {
            guard kind == .wals else { throw ParameterError("engine spark trains wals (Spark ML's implicit ALS), not \(kind.name)") }
            // Spark's objective, unless the caller contradicts it (validate says so then).
            values = Self.sparkDefaults.merging(values) { _, given in given }
        }
        if let unknown = values.keys.sorted().first(where: { !own.contains($0) && !common.contains($0) }) {
            throw ParameterError("unknown parameter '\(unknown)' for model kind '\(kind.name)'; known: \(own.union(common).sorted().joined(separator: ", "))")
        }
        self.kind = kind
        self.name = name ?? kind.name
        self.parameters = try kind.parameters.init(values: values.filter { own.contains($0.key) })
        self.common = try CommonParameters(values: values.filter { common.contains($0.key) && !own.contains($0.key) })
        self.data = data
        self.engine = engine
        try validate()
    }

    /// Checks across parameters and data.
    public func validate() throws(ParameterError) {
        if name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw ParameterError("name '\(name)' must be non-empty, without '/', and not start with '.'")
        }
        if let holdout = data.holdout {
            guard DataSource.holdoutRange.contains(holdout) else {
                throw ParameterError("holdout must be a fraction within \(DataSource.holdoutRange.lowerBound)...\(DataSource.holdoutRange.upperBound), got \(holdout)")
            }
            guard data.test == nil else { throw ParameterError("holdout carves test data out of the training data; it cannot go with a test file") }
        }
        try tune?.validate()
        if engine == .spark { try validateSpark() }
        if common.evalEveryEpoch && data.test == nil && data.holdout == nil { throw ParameterError("eval_every_epoch needs test data (a test file or a holdout)") }
        if let p = parameters as? MFSGDParameters, p.sampler == .inBatch, p.batchSize < 2 {
            throw ParameterError("sampler in-batch needs batch_size of at least 2")
        }
    }

    /// What a Spark run fixes: Spark ML's implicit ALS has w0 = 1, λ per positive cell, no
    /// recency; and its own defaults for λ and α (see docs/spark.md).
    public static let sparkDefaults: [String: ParameterValue] = [
        "regularization_mode": .string("als-wr"), "unobserved_weight": .number(1), "recency_boost": .number(0),
        "regularization": .number(0.1), "alpha": .number(1),
    ]

    func validateSpark() throws(ParameterError) {
        guard kind == .wals, let p = parameters as? WALSParameters else {
            throw ParameterError("engine spark trains wals (Spark ML's implicit ALS), not \(kind.name)")
        }
        guard p.regularizationMode == .alsWR, p.unobservedWeight == 1, p.recencyBoost == 0 else {
            throw ParameterError("engine spark trains Spark's objective: regularization_mode als-wr, unobserved_weight 1, recency_boost 0")
        }
        if p.solver != .cholesky { throw ParameterError("engine spark solves exactly (Cholesky); solver \(p.solver.rawValue) is a local option") }
        if tune != nil { throw ParameterError("tune is not available with engine spark") }
        if data.log != nil { throw ParameterError("engine spark reads files or URLs Spark can read, not the interaction log") }
        if data.holdout != nil { throw ParameterError("engine spark evaluates on a test file, not a holdout") }
    }

    /// Every parameter by name, the kind's and the common ones.
    public var values: [String: ParameterValue] { common.values.merging(parameters.values) { _, own in own } }
}

extension TrainingSpec: Equatable {
    public static func == (a: TrainingSpec, b: TrainingSpec) -> Bool {
        a.kind == b.kind && a.name == b.name && a.values == b.values && a.data == b.data && a.tune == b.tune && a.engine == b.engine
    }
}

extension TrainingSpec: Codable {
    enum CodingKeys: String, CodingKey { case model, name, params, data, tune, engine }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(ModelKind.self, forKey: .model)
        let values = try c.decodeIfPresent([String: ParameterValue].self, forKey: .params) ?? [:]
        let engine = try c.decodeIfPresent(Engine.self, forKey: .engine) ?? .local
        do {
            try self.init(kind: kind, name: c.decodeIfPresent(String.self, forKey: .name), values: values, data: c.decode(DataSource.self, forKey: .data), engine: engine)
            tune = try c.decodeIfPresent(TuningRequest.self, forKey: .tune)
            try validate()
        } catch let error as ParameterError {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.params], debugDescription: error.message))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .model)
        try c.encode(name, forKey: .name)
        try c.encode(values, forKey: .params)
        try c.encode(data, forKey: .data)
        try c.encodeIfPresent(tune, forKey: .tune)
        if engine != .local { try c.encode(engine, forKey: .engine) }
    }
}
