import Foundation

/// One retraining run: a child `unfold train` process and what it reported.
public struct TrainingJob: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case queued, running, succeeded, failed, cancelled, interrupted
        public var isFinished: Bool { self != .queued && self != .running }
    }

    public struct Progress: Codable, Sendable, Equatable {
        public var phase: String
        public var iteration: Int?
        public var total: Int?
        public var loss: Double?
        public var elapsed: Double?
        public var eta: Double?
    }

    public var id: String
    public var model: String
    public var state: State
    public var arguments: [String]
    public var createdAt: String
    public var startedAt: String?
    public var finishedAt: String?
    public var pid: Int32?
    public var progress: Progress?
    public var evaluation: [String: Double]?
    public var snapshot: String?
    public var snapshotVersion: UInt64?
    public var exitStatus: Int32?
    public var signal: Int32?
    public var error: String?
    /// The last lines the trainer wrote to standard error.
    public var stderrTail: [String]
    public var timeLimitSeconds: Double

    enum CodingKeys: String, CodingKey {
        case id, model, state, arguments, pid, progress, evaluation, snapshot, signal, error
        case createdAt = "created_at", startedAt = "started_at", finishedAt = "finished_at"
        case snapshotVersion = "snapshot_version", exitStatus = "exit_status", stderrTail = "stderr_tail"
        case timeLimitSeconds = "time_limit_seconds"
    }
}
