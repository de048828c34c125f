import ArgumentParser
import Dispatch
import Foundation
import Logging
import UnfoldService

/// `unfold serve`: loads the configuration and serves until SIGTERM or SIGINT.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API.",
        discussion: "Settings come from the configuration file, then UNFOLD_* environment variables, then these flags."
    )

    @Option(help: "Configuration file (default: $UNFOLD_CONFIG, else Config/unfold.json if present).")
    var config: String?

    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "TCP port (0 picks a free one).") var port: String?
    @Option(name: .customLong("worker-threads"), help: "Threads running handlers (0: one per core).") var workerThreads: String?
    @Option(name: .customLong("max-connections"), help: "Open connections before new ones get 503.") var maxConnections: String?
    @Option(name: .customLong("max-request-line-bytes"), help: "Longest request line (414 beyond).") var maxRequestLineBytes: String?
    @Option(name: .customLong("max-header-bytes"), help: "Largest header section (431 beyond).") var maxHeaderBytes: String?
    @Option(name: .customLong("max-header-count"), help: "Most header fields (431 beyond).") var maxHeaderCount: String?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body (413 beyond).") var maxBodyBytes: String?
    @Option(name: .customLong("header-timeout-seconds"), help: "Time to receive a request head.") var headerTimeoutSeconds: String?
    @Option(name: .customLong("body-timeout-seconds"), help: "Longest pause inside a request body.") var bodyTimeoutSeconds: String?
    @Option(name: .customLong("idle-timeout-seconds"), help: "Keep-alive idle time between requests.") var idleTimeoutSeconds: String?
    @Option(name: .customLong("write-timeout-seconds"), help: "Time a client may leave a response unread.") var writeTimeoutSeconds: String?
    @Option(name: .customLong("shutdown-grace-seconds"), help: "Time in-flight requests get at shutdown.") var shutdownGraceSeconds: String?
    @Option(name: .customLong("gzip-min-bytes"), help: "Smallest response body that is gzip-compressed.") var gzipMinBytes: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String?
    @Option(name: .customLong("admin-token"), help: "Bearer token for /admin routes (empty: loopback only).") var adminToken: String?
    @Option(help: "Directory of snapshot files.") var snapshots: String?
    @Option(name: .customLong("default-model"), help: "Model name used when a request names none.") var defaultModel: String?
    @Option(name: .customLong("snapshot-poll-seconds"), help: "How often the snapshot directory is rescanned (besides inotify).") var snapshotPollSeconds: String?
    @Option(name: .customLong("retain-versions"), help: "Snapshot files kept per model name.") var retainVersions: String?
    @Option(help: "Directory of training job records.") var jobs: String?
    @Option(name: .customLong("train-data"), help: "Interactions a retrain uses when the request names none.") var trainData: String?
    @Option(name: .customLong("train-test"), help: "Held-out interactions for retrain metrics.") var trainTest: String?
    @Option(name: .customLong("train-items"), help: "Items file embedded by retrains.") var trainItems: String?
    @Option(name: .customLong("job-time-limit-seconds"), help: "A training job running longer is killed and marked failed.") var jobTimeLimitSeconds: String?
    @Option(name: .customLong("retrain-every-minutes"), help: "Start a retrain on this schedule (0: never).") var retrainEveryMinutes: String?
    @Option(name: .customLong("retrain-after-interactions"), help: "Start a retrain after this many ingested interactions (0: never).") var retrainAfterInteractions: String?
    @Option(name: .customLong("interaction-log"), help: "Directory of the durable interaction log.") var interactionLog: String?
    @Option(name: .customLong("log-segment-bytes"), help: "Size at which a new log segment starts.") var logSegmentBytes: String?
    @Option(name: .customLong("snapshot-url"), help: "Replica mode: follow the snapshot at this URL.") var snapshotURL: String?
    @Option(name: .customLong("promotion-tolerance"), help: "How far below the active ndcg@10 a new version may be and still be activated.") var promotionTolerance: String?

    private var flagValues: [(key: String, flag: String, value: String)] {
        let all: [(String, String?)] = [
            ("host", host), ("port", port), ("worker_threads", workerThreads), ("max_connections", maxConnections),
            ("max_request_line_bytes", maxRequestLineBytes), ("max_header_bytes", maxHeaderBytes),
            ("max_header_count", maxHeaderCount), ("max_body_bytes", maxBodyBytes),
            ("header_timeout_seconds", headerTimeoutSeconds), ("body_timeout_seconds", bodyTimeoutSeconds),
            ("idle_timeout_seconds", idleTimeoutSeconds), ("write_timeout_seconds", writeTimeoutSeconds),
            ("shutdown_grace_seconds", shutdownGraceSeconds), ("gzip_min_bytes", gzipMinBytes),
            ("log_level", logLevel), ("admin_token", adminToken), ("snapshots", snapshots), ("default_model", defaultModel),
            ("snapshot_poll_seconds", snapshotPollSeconds), ("retain_versions", retainVersions), ("promotion_tolerance", promotionTolerance),
            ("jobs", jobs), ("train_data", trainData), ("train_test", trainTest), ("train_items", trainItems),
            ("job_time_limit_seconds", jobTimeLimitSeconds), ("retrain_every_minutes", retrainEveryMinutes), ("retrain_after_interactions", retrainAfterInteractions),
            ("interaction_log", interactionLog), ("log_segment_bytes", logSegmentBytes), ("snapshot_url", snapshotURL),
        ]
        return all.compactMap { key, value in
            value.map { (key: key, flag: "--" + key.replacingOccurrences(of: "_", with: "-"), value: $0) }
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["UNFOLD_CONFIG"] ?? (FileManager.default.fileExists(atPath: "Config/unfold.json") ? "Config/unfold.json" : nil)
        let settings: ServiceConfiguration
        do {
            settings = try ServiceConfiguration.load(file: file, environment: environment, flags: flagValues)
        } catch {
            throw ValidationError(error.description)
        }

        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
        let logger = Logger(label: "unfold")
        raiseDescriptorLimit(logger: logger)

        let application: UnfoldApplication
        do {
            application = try UnfoldApplication(configuration: settings, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        // SIGHUP: rescan the snapshot directory. Installed before the server listens: a
        // SIGHUP that arrives between "listening" and here would otherwise kill the process
        // (its default action), as a loaded test machine showed. Without SA_RESTART on
        // purpose: a signal then interrupts blocking calls with EINTR, which every call site
        // retries.
        installHangupHandler()
        let (server, _) = try application.start()

        // Graceful shutdown: handle SIGTERM/SIGINT on a queue instead of dying.
        var signalSources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                logger.notice("signal received", metadata: ["signal": .stringConvertible(signalNumber)])
                server.shutdown(grace: settings.shutdownGraceNanoseconds) {
                    Foundation.exit(0)
                }
            }
            source.resume()
            signalSources.append(source)
        }
        let store = application.store
        let hangups = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        hangups.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        var seen = hangupCount()
        hangups.setEventHandler {
            let now = hangupCount()
            if now != seen {
                seen = now
                logger.notice("SIGHUP: rescanning snapshots", metadata: ["signals": .stringConvertible(now)])
                store.refresh()
            }
        }
        hangups.resume()
        withExtendedLifetime((signalSources, hangups)) {
            dispatchMain()
        }
    }

    /// Each connection is a descriptor: lift the soft limit to the hard one.
    private func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("could not raise the open-file limit", metadata: ["errno": .stringConvertible(errno)])
        }
    }
}

/// Counts SIGHUPs; the handler only increments a counter (async-signal-safe).
nonisolated(unsafe) private var hangupCounter: sig_atomic_t = 0

private func hangupCount() -> Int { Int(hangupCounter) }

private func installHangupHandler() {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in hangupCounter &+= 1 }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0  // no SA_RESTART
    sigaction(SIGHUP, &action, nil)
}
