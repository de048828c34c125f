import Foundation
import UnfoldHTTP

/// One setting: its name in the file, its environment variable, its flag, and how
/// a value is checked and stored.
struct ConfigurationKey: @unchecked Sendable {  // key paths are immutable
    enum Kind {
        case integer(ClosedRange<Int>, WritableKeyPath<ServiceConfiguration, Int>)
        case seconds(ClosedRange<Double>, WritableKeyPath<ServiceConfiguration, Double>)
        case choice([String], WritableKeyPath<ServiceConfiguration, String>)
        case text(WritableKeyPath<ServiceConfiguration, String>, allowEmpty: Bool)
    }

    let name: String
    let kind: Kind
    let help: String

    /// `max_body_bytes` → `UNFOLD_MAX_BODY_BYTES`.
    var environmentName: String { "UNFOLD_" + name.uppercased() }

    /// `max_body_bytes` → `--max-body-bytes`.
    var flagName: String { "--" + name.replacingOccurrences(of: "_", with: "-") }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// `dispatch` everywhere, `epoll` on Linux only: elsewhere it is not a valid value.
    static let eventLoops = EventBackend.allCases.map(\.rawValue)

    static let all: [ConfigurationKey] = [
        .init(name: "host", kind: .text(\.host, allowEmpty: false), help: "address to listen on"),
        .init(name: "port", kind: .integer(0...65535, \.port), help: "TCP port (0 picks a free one)"),
        .init(name: "event_loop", kind: .choice(eventLoops, \.eventLoop), help: "event core: dispatch (default) or epoll (Linux only)"),
        .init(name: "worker_threads", kind: .integer(0...1024, \.workerThreads), help: "handlers that run at once (0: one per core)"),
        .init(name: "max_connections", kind: .integer(1...1_000_000, \.maxConnections), help: "open connections before new ones get 503"),
        .init(name: "max_request_line_bytes", kind: .integer(64...1 << 20, \.maxRequestLineBytes), help: "longest request line (414 beyond)"),
        .init(name: "max_header_bytes", kind: .integer(256...1 << 24, \.maxHeaderBytes), help: "largest header section (431 beyond)"),
        .init(name: "max_header_count", kind: .integer(1...100_000, \.maxHeaderCount), help: "most header fields (431 beyond)"),
        .init(name: "max_body_bytes", kind: .integer(1...1 << 32, \.maxBodyBytes), help: "largest request body (413 beyond)"),
        .init(name: "header_timeout_seconds", kind: .seconds(0.05...86_400, \.headerTimeoutSeconds), help: "time to receive a request head"),
        .init(name: "body_timeout_seconds", kind: .seconds(0.05...86_400, \.bodyTimeoutSeconds), help: "longest pause inside a request body"),
        .init(name: "idle_timeout_seconds", kind: .seconds(0.05...86_400, \.idleTimeoutSeconds), help: "keep-alive idle time between requests"),
        .init(name: "write_timeout_seconds", kind: .seconds(0.05...86_400, \.writeTimeoutSeconds), help: "time a client may leave a response unread"),
        .init(name: "shutdown_grace_seconds", kind: .seconds(0...3_600, \.shutdownGraceSeconds), help: "time in-flight requests get at shutdown"),
        .init(name: "gzip_min_bytes", kind: .integer(0...1 << 30, \.gzipMinBytes), help: "smallest response body that is gzip-compressed"),
        .init(name: "log_level", kind: .choice(logLevels, \.logLevel), help: "one of \(logLevels.joined(separator: ", "))"),
        .init(name: "admin_token", kind: .text(\.adminToken, allowEmpty: true), help: "bearer token for /admin (empty: loopback only)"),
        .init(name: "snapshots", kind: .text(\.snapshots, allowEmpty: false), help: "directory of snapshot files"),
        .init(name: "default_model", kind: .text(\.defaultModel, allowEmpty: false), help: "model name used when a request names none"),
        .init(name: "snapshot_poll_seconds", kind: .seconds(0.05...3_600, \.snapshotPollSeconds), help: "how often the snapshot directory is rescanned (besides inotify)"),
        .init(name: "retain_versions", kind: .integer(1...1000, \.retainVersions), help: "snapshot files kept per model name"),
        .init(name: "jobs", kind: .text(\.jobs, allowEmpty: false), help: "directory of training job records"),
        .init(name: "train_data", kind: .text(\.trainData, allowEmpty: false), help: "interactions a retrain uses when the request names none"),
        .init(name: "train_test", kind: .text(\.trainTest, allowEmpty: true), help: "held-out interactions for retrain metrics (empty: none)"),
        .init(name: "train_items", kind: .text(\.trainItems, allowEmpty: true), help: "items file embedded by retrains (empty: none)"),
        .init(name: "job_time_limit_seconds", kind: .seconds(1...604_800, \.jobTimeLimitSeconds), help: "a training job running longer is killed and marked failed"),
        .init(name: "retrain_after_interactions", kind: .integer(0...1_000_000_000, \.retrainAfterInteractions), help: "start a retrain on base data plus the log after this many ingested interactions (0: never)"),
        .init(name: "retrain_every_minutes", kind: .seconds(0...100_000, \.retrainEveryMinutes), help: "start a retrain on this schedule (0: never)"),
        .init(name: "interaction_log", kind: .text(\.interactionLog, allowEmpty: false), help: "directory of the durable interaction log"),
        .init(name: "log_segment_bytes", kind: .integer(4096...(1 << 34), \.logSegmentBytes), help: "size at which a new log segment starts"),
        .init(name: "snapshot_url", kind: .text(\.snapshotURL, allowEmpty: true), help: "replica mode: follow the snapshot at this URL (empty: off)"),
        .init(name: "promotion_tolerance", kind: .seconds(0...1, \.promotionTolerance), help: "how far below the active ndcg@10 a new version may be and still be activated"),
    ]

    static func named(_ name: String) -> ConfigurationKey? {
        all.first { $0.name == name }
    }
}
