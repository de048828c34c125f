import Foundation
import UnfoldModels

/// One retraining run: a child `unfold train` process and what it reported.
public struct TrainingJob: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case queued, running, succeeded, failed, cancelled, interrupted
        public var isFinished: Bool { self != .queued && self != .running }
    }

    public var id: String
    public var model: String
    public var state: State
    /// What is trained: the spec the trainer process runs.
    public var spec: TrainingSpec
    /// The active version whose recipe the spec reuses (a retrain without data), if any.
    public var basedOn: UInt64?
    /// Serve the result even if the promotion gate would hold it back.
    public var force = false
    public var arguments: [String]
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var pid: Int32?
    /// The trainer's last report.
    public var progress: TrainingProgress?
    /// The trainer's notes (e.g. chosen hyperparameters, skipped lines).
    public var notes: [String] = []
    /// With `tune`: every trial of the hyperparameter search so far.
    public var trials: [TuningTrial] = []
    public var evaluation: [String: Double]?
    public var snapshot: String?
    public var snapshotVersion: UInt64?
    public var exitStatus: Int32?
    public var signal: Int32?
    public var error: String?
    /// The last lines the trainer wrote to standard error.
    public var stderrTail: [String]
    public var timeLimitSeconds: Double

    public init(id: String, model: String, state: State, spec: TrainingSpec, arguments: [String], createdAt: String, stderrTail: [String], timeLimitSeconds: Double) {
        self.id = id
        self.model = model
        self.state = state
        self.spec = spec
        self.arguments = arguments
        self.createdAt = createdAt
        self.stderrTail = stderrTail
        self.timeLimitSeconds = timeLimitSeconds
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        model = try c.decode(String.self, forKey: .model)
        state = try c.decode(State.self, forKey: .state)
        spec = try c.decode(TrainingSpec.self, forKey: .spec)
        basedOn = try c.decodeIfPresent(UInt64.self, forKey: .basedOn)
        force = try c.decodeIfPresent(Bool.self, forKey: .force) ?? false
        arguments = try c.decode([String].self, forKey: .arguments)
        createdAt = try c.decode(String.self, forKey: .createdAt)
        startedAt = try c.decodeIfPresent(String.self, forKey: .startedAt)
        finishedAt = try c.decodeIfPresent(String.self, forKey: .finishedAt)
        pid = try c.decodeIfPresent(Int32.self, forKey: .pid)
        progress = try c.decodeIfPresent(TrainingProgress.self, forKey: .progress)
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
        trials = try c.decodeIfPresent([TuningTrial].self, forKey: .trials) ?? []
        evaluation = try c.decodeIfPresent([String: Double].self, forKey: .evaluation)
        snapshot = try c.decodeIfPresent(String.self, forKey: .snapshot)
        snapshotVersion = try c.decodeIfPresent(UInt64.self, forKey: .snapshotVersion)
        exitStatus = try c.decodeIfPresent(Int32.self, forKey: .exitStatus)
        signal = try c.decodeIfPresent(Int32.self, forKey: .signal)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        stderrTail = try c.decode([String].self, forKey: .stderrTail)
        timeLimitSeconds = try c.decode(Double.self, forKey: .timeLimitSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case id, model, state, spec, force, arguments, pid, progress, notes, trials, evaluation, snapshot, signal, error
        case basedOn = "based_on"
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case snapshotVersion = "snapshot_version", exitStatus = "exit_status", stderrTail = "stderr_tail"
        case timeLimitSeconds = "time_limit_seconds"
    }
}
