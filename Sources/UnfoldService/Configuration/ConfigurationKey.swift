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
        case flag(WritableKeyPath<ServiceConfiguration, Bool>)
        /// Names with numbers: a JSON object in the file, `name=number,...` elsewhere.
        case weights(WritableKeyPath<ServiceConfiguration, [String: Float]>)
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

    /// Every setting: the one table from which the file loader, the `UNFOLD_*` variables,
    /// `unfold serve`'s flags, its help and the table in docs/configuration.md are derived.
    static let all: [ConfigurationKey] = [
        .init(name: "host", kind: .text(\.host, allowEmpty: false), help: "address to listen on (`0.0.0.0` or `::` for all)"),
        .init(name: "port", kind: .integer(0...65535, \.port), help: "TCP port; 0 picks a free one (logged as `msg=listening ... port=N`)"),
        .init(name: "event_loop", kind: .choice(eventLoops, \.eventLoop), help: "event core that moves the bytes: Dispatch read/write sources, or a thread per core in `epoll_wait` (Linux only; elsewhere `epoll` stops the start with an error naming the key); docs/http-server.md"),
        .init(name: "worker_threads", kind: .integer(0...1024, \.workerThreads), help: "handlers that run at once (Dispatch worker slots); 0 is one per core"),
        .init(name: "max_connections", kind: .integer(1...1_000_000, \.maxConnections), help: "open connections; further ones get 503 and are closed"),
        .init(name: "max_request_line_bytes", kind: .integer(64...1 << 20, \.maxRequestLineBytes), help: "request line limit (414)"),
        .init(name: "max_header_bytes", kind: .integer(256...1 << 24, \.maxHeaderBytes), help: "header section limit (431)"),
        .init(name: "max_header_count", kind: .integer(1...100_000, \.maxHeaderCount), help: "header field count limit (431)"),
        .init(name: "max_body_bytes", kind: .integer(1...1 << 32, \.maxBodyBytes), help: "decoded body limit (413)"),
        .init(name: "header_timeout_seconds", kind: .seconds(0.05...86_400, \.headerTimeoutSeconds), help: "from a request's first byte (or from accept) to its complete head (408)"),
        .init(name: "body_timeout_seconds", kind: .seconds(0.05...86_400, \.bodyTimeoutSeconds), help: "longest pause between pieces of a body (408)"),
        .init(name: "idle_timeout_seconds", kind: .seconds(0.05...86_400, \.idleTimeoutSeconds), help: "keep-alive idle time between requests (silent close)"),
        .init(name: "write_timeout_seconds", kind: .seconds(0.05...86_400, \.writeTimeoutSeconds), help: "time a client may leave a response unread before the connection is dropped"),
        .init(name: "shutdown_grace_seconds", kind: .seconds(0...3_600, \.shutdownGraceSeconds), help: "time in-flight requests get after SIGTERM/SIGINT"),
        .init(name: "gzip_min_bytes", kind: .integer(0...1 << 30, \.gzipMinBytes), help: "smallest response body that is gzip-compressed"),
        .init(name: "log_level", kind: .choice(logLevels, \.logLevel), help: "`info` logs one line per request (written by a background thread; dropped and counted, never queued without bound, under overload)"),
        .init(name: "log_format", kind: .choice(["logfmt", "json"], \.logFormat), help: "`logfmt` (`key=value` pairs) or `json` (one object per line) on standard error"),
        .init(name: "admin_token", kind: .text(\.adminToken, allowEmpty: true), help: "bearer token for `/admin` routes and for writes that change what other users see (catalogue, erasure); empty means loopback clients only"),
        .init(name: "api_token", kind: .text(\.apiToken, allowEmpty: true), help: "bearer token every `/v1` route requires (compared in constant time); empty: `/v1` is open, and the server says so at start"),
        .init(name: "metrics", kind: .choice(["on", "off"], \.metrics), help: "`off` stops counting requests and answers (`GET /metrics` then shows only models, jobs, ingest and the process); for measuring what counting costs"),
        .init(name: "metrics_public", kind: .flag(\.metricsPublic), help: "`GET /metrics` answers every client; otherwise loopback clients, and others with the admin token"),
        .init(name: "snapshots", kind: .text(\.snapshots, allowEmpty: false), help: "directory of snapshot files; at start the newest valid snapshot of each model name is loaded"),
        .init(name: "default_model", kind: .text(\.defaultModel, allowEmpty: false), help: "the model a request gets when it names none"),
        .init(name: "snapshot_poll_seconds", kind: .seconds(0.05...3_600, \.snapshotPollSeconds), help: "how often the snapshot directory is rescanned (directory events trigger a scan at once; the poll is the fallback); in replica mode, how often the URL is polled"),
        .init(name: "retain_versions", kind: .integer(1...1000, \.retainVersions), help: "snapshot files kept per model name; older ones are deleted (never the active one)"),
        .init(name: "promotion_tolerance", kind: .seconds(0...1, \.promotionTolerance), help: "a new version whose held-out NDCG@10 is below the active one's by more than this is held back"),
        .init(name: "ann_min_items", kind: .integer(0...Int(Int32.max), \.annMinItems), help: "a model with at least this many items is served by its approximate index (when its snapshot has one; `\"exact\": true` in a request scans anyway); smaller ones by the exact scan; docs/algorithms.md"),
        .init(name: "jobs", kind: .text(\.jobs, allowEmpty: false), help: "directory of training job records"),
        .init(name: "train_data", kind: .text(\.trainData, allowEmpty: false), help: "what a retrain trains on when the request names nothing (a path or a URL)"),
        .init(name: "train_test", kind: .text(\.trainTest, allowEmpty: true), help: "held-out data for retrain metrics (and so the promotion gate); empty: none"),
        .init(name: "train_items", kind: .text(\.trainItems, allowEmpty: true), help: "items file embedded by retrains; empty: none"),
        .init(name: "job_time_limit_seconds", kind: .seconds(1...604_800, \.jobTimeLimitSeconds), help: "a job running longer is stopped and marked failed"),
        .init(name: "spark_submit", kind: .text(\.sparkSubmit, allowEmpty: false), help: "`spark-submit` that retrains with `\"engine\": \"spark\"` run (a path, or a name on PATH); docs/spark.md"),
        .init(name: "spark_master", kind: .text(\.sparkMaster, allowEmpty: false), help: "`--master` for Spark retrains: `local[N]`, `yarn`, `k8s://https://HOST:PORT`, `spark://HOST:PORT`"),
        .init(name: "spark_arguments", kind: .text(\.sparkArguments, allowEmpty: true), help: "extra `spark-submit` arguments before the job, separated by spaces (e.g. `--conf spark.executor.memory=4g`)"),
        .init(name: "spark_job", kind: .text(\.sparkJob, allowEmpty: false), help: "the PySpark job Spark retrains submit"),
        .init(name: "spark_exchange", kind: .text(\.sparkExchange, allowEmpty: true), help: "where the Spark driver writes its exchange directory (a path this machine reads too); empty: a hidden directory beside the snapshots, removed after the import"),
        .init(name: "retrain_every_minutes", kind: .seconds(0...100_000, \.retrainEveryMinutes), help: "start a retrain on this schedule (0: never); skipped while one runs"),
        .init(name: "retrain_after_interactions", kind: .integer(0...1_000_000_000, \.retrainAfterInteractions), help: "after this many ingested interactions, retrain on `train_data` plus the log (0: never)"),
        .init(name: "user_history_max", kind: .integer(0...100_000, \.userHistoryMax), help: "events remembered per user (the latest), for `/v1/users/{id}/recommend`; rebuilt from the interaction log at start; 0: remember nothing"),
        .init(name: "event_types", kind: .weights(\.eventTypes), help: "interaction `type` → weight; a negative weight is a dislike (never recommended to that user, preference 0 in WALS); a JSON object in the file, `name=weight,...` in a flag or variable"),
        .init(name: "new_item_min_users", kind: .integer(0...1_000_000, \.newItemMinUsers), help: "an item a served model does not know is recommended (marked new) once this many distinct users interacted with it; 0: never"),
        .init(name: "experiments", kind: .text(\.experiments, allowEmpty: true), help: "a JSON file of A/B tests, `[{\"name\": …, \"arms\": [{\"model\": …, \"version\": …, \"weight\": …}], \"default\": …}]`, set at start (replacing ones of the same name); empty: none; `PUT /admin/experiments/{name}` changes them at run time"),
        .init(name: "attribution_window_seconds", kind: .seconds(1...2_592_000, \.attributionWindowSeconds), help: "an A/B test counts an ingested event on an item an arm recommended to that user within this time as a hit for the arm"),
        .init(name: "interaction_log", kind: .text(\.interactionLog, allowEmpty: false), help: "directory of the durable interaction log (`POST /v1/interactions`)"),
        .init(name: "log_segment_bytes", kind: .integer(4096...(1 << 34), \.logSegmentBytes), help: "size at which a new log segment starts"),
        .init(name: "snapshot_url", kind: .text(\.snapshotURL, allowEmpty: true), help: "replica mode: follow the snapshot at this URL (see `deployment.md`)"),
    ]

    static func named(_ name: String) -> ConfigurationKey? {
        all.first { $0.name == name }
    }

    /// The value the built-in defaults give this key, as the docs show it.
    var defaultText: String {
        let defaults = ServiceConfiguration()
        switch kind {
        case .integer(_, let path): return "`\(defaults[keyPath: path])`"
        case .seconds(_, let path):
            let v = defaults[keyPath: path]
            return "`\(v == v.rounded() ? String(Int(v)) : String(v))`"
        case .choice(_, let path): return "`\(defaults[keyPath: path])`"
        case .text(let path, _):
            let v = defaults[keyPath: path]
            return v.isEmpty ? "`\"\"`" : "`\(v)`"
        case .flag(let path): return "`\(defaults[keyPath: path])`"
        case .weights(let path): return "`\(Self.text(defaults[keyPath: path]))`"
        }
    }

    /// `name=weight,...`, names sorted.
    static func text(_ weights: [String: Float]) -> String {
        weights.keys.sorted().map { name in
            let w = weights[name]!
            return "\(name)=\(w == w.rounded() && abs(w) < 1e7 ? String(Int(w)) : String(w))"
        }.joined(separator: ",")
    }

    /// What values the key takes, as the docs show it.
    var rangeText: String {
        switch kind {
        case .integer(let r, _): return "\(r.lowerBound)–\(r.upperBound)"
        case .seconds(let r, _):
            func f(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }
            return "\(f(r.lowerBound))–\(f(r.upperBound))"
        case .choice(let choices, _): return choices.joined(separator: ", ")
        case .flag: return "true, false"
        case .text, .weights: return ""
        }
    }

    /// The table in docs/configuration.md.
    static var markdownTable: String {
        (["| key | default | range | meaning |", "| --- | --- | --- | --- |"]
            + all.map { "| `\($0.name)` | \($0.defaultText) | \($0.rangeText) | \($0.help) |" }).joined(separator: "\n")
    }

    /// `unfold serve --help`'s list of setting flags.
    static var flagHelp: String {
        all.map { key in
            "  \(key.flagName) <\(key.rangeText.isEmpty ? "text" : key.rangeText)>\n      \(key.help.replacingOccurrences(of: "`", with: "")) (default \(key.defaultText.replacingOccurrences(of: "`", with: "")))"
        }.joined(separator: "\n")
    }
}
