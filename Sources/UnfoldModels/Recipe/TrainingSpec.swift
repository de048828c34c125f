/// What to train: the one contract between whoever asks for a model (`unfold train`'s
/// flags, `POST /admin/retrain`, the job supervisor) and the trainer. The supervisor
/// writes it as JSON for the trainer process; the snapshot's metadata keeps it as the
/// recipe.
public struct TrainingSpec: Sendable {
    public var kind: ModelKind
    /// The snapshot name (default: the kind's name).
    public var name: String
    public var parameters: any ModelParameters
    public var common: CommonParameters
    public var data: DataSource
    /// Search the hyperparameters before training (nil: train the parameters as given).
    public var tune: TuningRequest?

    /// Parameters by name, each in the kind's table or the common one: an unknown name or a
    /// bad value throws, naming it.
    public init(kind: ModelKind, name: String? = nil, values: [String: ParameterValue], data: DataSource) throws(ParameterError) {
        let own = Set(kind.parameters.parameterNames), common = Set(CommonParameters.parameterNames)
        if let unknown = values.keys.sorted().first(where: { !own.contains($0) && !common.contains($0) }) {
            throw ParameterError("unknown parameter '\(unknown)' for model kind '\(kind.name)'; known: \(own.union(common).sorted().joined(separator: ", "))")
        }
        self.kind = kind
        self.name = name ?? kind.name
        self.parameters = try kind.parameters.init(values: values.filter { own.contains($0.key) })
        self.common = try CommonParameters(values: values.filter { common.contains($0.key) && !own.contains($0.key) })
        self.data = data
        try validate()
    }

    /// Checks across parameters and data.
    func validate() throws(ParameterError) {
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
        if common.evalEveryEpoch && data.test == nil && data.holdout == nil { throw ParameterError("eval_every_epoch needs test data (a test file or a holdout)") }
        if let p = parameters as? MFSGDParameters, p.sampler == .inBatch, p.batchSize < 2 {
            throw ParameterError("sampler in-batch needs batch_size of at least 2")
        }
    }

    /// Every parameter by name, the kind's and the common ones.
    public var values: [String: ParameterValue] { common.values.merging(parameters.values) { _, own in own } }
}

extension TrainingSpec: Equatable {
    public static func == (a: TrainingSpec, b: TrainingSpec) -> Bool {
        a.kind == b.kind && a.name == b.name && a.values == b.values && a.data == b.data && a.tune == b.tune
    }
}

extension TrainingSpec: Codable {
    enum CodingKeys: String, CodingKey { case model, name, params, data, tune }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(ModelKind.self, forKey: .model)
        let values = try c.decodeIfPresent([String: ParameterValue].self, forKey: .params) ?? [:]
        do {
            try self.init(kind: kind, name: c.decodeIfPresent(String.self, forKey: .name), values: values, data: c.decode(DataSource.self, forKey: .data))
            tune = try c.decodeIfPresent(TuningRequest.self, forKey: .tune)
            try tune?.validate()
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
    }
}
