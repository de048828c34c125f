/// What a trainer reports while it runs: one record per phase change, per epoch and at the
/// end. `unfold train --progress json` writes each as a JSON line; the server's job
/// supervisor reads them back into the job record.
public struct TrainingProgress: Sendable, Codable, Equatable {
    public enum Phase: String, Sendable, Codable {
        case read, tune, train, foldIn = "fold-in", neighbours, index, evaluate, write, note, done
    }

    public var phase: Phase
    public var detail: String?
    /// Training phase: the epoch (alternating iteration for WALS) just finished, of `epochs`.
    public var epoch: Int?
    public var epochs: Int?
    public var loss: Double?
    /// Seconds the epoch took.
    public var seconds: Double?
    /// Seconds since the trainer started.
    public var elapsed: Double
    /// Estimated seconds left in the training phase.
    public var eta: Double?
    /// Done: the snapshot written, its version and held-out metrics.
    public var snapshot: String?
    public var version: UInt64?
    public var evaluation: [String: Double]?
    /// Tune phase: a trial of the hyperparameter search just finished.
    public var trial: TuningTrial?

    public init(phase: Phase, detail: String? = nil, epoch: Int? = nil, epochs: Int? = nil, loss: Double? = nil, seconds: Double? = nil,
                elapsed: Double, eta: Double? = nil, snapshot: String? = nil, version: UInt64? = nil, evaluation: [String: Double]? = nil) {
        self.phase = phase
        self.detail = detail
        self.epoch = epoch
        self.epochs = epochs
        self.loss = loss
        self.seconds = seconds
        self.elapsed = elapsed
        self.eta = eta
        self.snapshot = snapshot
        self.version = version
        self.evaluation = evaluation
    }
}
