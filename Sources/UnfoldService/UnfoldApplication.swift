import Foundation
import Logging
import UnfoldData
import UnfoldHTTP
import UnfoldServing

/// The service: configuration, routes and middleware on top of the HTTP server.
public final class UnfoldApplication: Sendable {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    public let router: HTTPRouter
    public let store: ModelStore
    public let jobs: JobManager
    public let interactionLog: InteractionLog
    let readiness: Readiness

    public init(configuration: ServiceConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let policy = ModelStore.Policy(promotionTolerance: configuration.promotionTolerance, retainVersions: configuration.retainVersions)
        let store = ModelStore(directory: configuration.snapshots, policy: policy, prepare: { PreparedModel(snapshot: $0, titles: $1) }) { event in
            switch event {
            case .loaded(let name, let version, let path, let items, let seconds):
                logger.notice("model loaded", metadata: ["model": .string(name), "version": .stringConvertible(version), "path": .string(path),
                                                        "items": .stringConvertible(items), "seconds": .string(String(format: "%.3f", seconds))])
            case .swapped(let name, let from, let to):
                logger.notice("model activated", metadata: ["model": .string(name), "from": .string(from.map(String.init) ?? "none"), "to": .stringConvertible(to)])
            case .rejected(let path, let reason):
                logger.error("snapshot rejected", metadata: ["path": .string(path), "error": .string(reason)])
            case .heldBack(let name, let version, let reason):
                logger.warning("snapshot held back", metadata: ["model": .string(name), "version": .stringConvertible(version), "reason": .string(reason)])
            case .removed(let path):
                logger.info("snapshot removed by retention", metadata: ["path": .string(path)])
            }
        }
        self.store = store
        self.interactionLog = try InteractionLog(directory: configuration.interactionLog, segmentBytes: configuration.logSegmentBytes)
        if let recovery = interactionLog.recovery {
            logger.warning("interaction log: truncated a torn last record", metadata: ["segment": .string(recovery.segment), "bytes": .stringConvertible(recovery.truncatedBytes)])
        }
        self.jobs = JobManager(settings: .init(
            jobsDirectory: configuration.jobs, snapshotsDirectory: configuration.snapshots, defaultData: configuration.trainData,
            defaultTest: configuration.trainTest, defaultItems: configuration.trainItems, timeLimitSeconds: configuration.jobTimeLimitSeconds,
            interactionLog: configuration.interactionLog
        ), store: store, logger: logger)
        self.readiness = Readiness(modelsLoaded: { store.count })
        self.router = HTTPRouter(middleware: [
            RequestLogMiddleware(logger: logger),
            AdminAuthMiddleware(token: configuration.adminToken),
            GzipMiddleware(minimumBytes: configuration.gzipMinBytes),
        ])
        HealthRoutes(readiness: readiness).register(on: router)
        RecommendRoutes(store: store, defaultModel: configuration.defaultModel).register(on: router)
        AdminModelRoutes(store: store).register(on: router)
        AdminJobRoutes(jobs: jobs).register(on: router)
        let trigger = IngestTrigger(threshold: configuration.retrainAfterInteractions, jobs: jobs, logger: logger)
        IngestRoutes(log: interactionLog, onAccepted: { trigger.accepted($0) }).register(on: router)
    }

    /// Starts listening; returns the server and the bound port.
    public func start() throws -> (HTTPServer, UInt16) {
        let logger = self.logger
        let server = HTTPServer(configuration: configuration.httpServer, responder: router) { event in
            Self.log(event, to: logger)
        }
        jobs.recover()
        let port = try server.start()
        if !configuration.snapshotURL.isEmpty {
            let replica = ReplicaPoller(url: configuration.snapshotURL, directory: configuration.snapshots, store: store, logger: logger, interval: configuration.snapshotPollSeconds)
            replica.start()
            self.replica = replica
        }
        scheduleRetraining()
        // Load after listening: liveness answers at once, readiness once a model is in.
        let store = self.store
        let poll = configuration.snapshotPollSeconds
        DispatchQueue.global(qos: .userInitiated).async {
            if store.loadNewest() == 0 {
                logger.warning("no valid snapshot found; /readyz answers 503 until one is loaded", metadata: ["snapshots": .string(store.directory)])
            }
            store.startWatching(pollInterval: poll)
        }
        if configuration.adminToken.isEmpty {
            logger.warning("no admin token configured: admin routes answer loopback clients only")
        }
        return (server, port)
    }

    /// `retrain_every_minutes`: start a retrain with the configured data on a timer; a
    /// retrain already running is left alone.
    private func scheduleRetraining() {
        let minutes = configuration.retrainEveryMinutes
        guard minutes > 0 else { return }
        let jobs = self.jobs, logger = self.logger
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + minutes * 60, repeating: minutes * 60)
        timer.setEventHandler {
            do {
                let job = try jobs.start(model: "wals", parameters: [:], data: nil, test: nil, items: nil, timeLimit: nil)
                logger.notice("scheduled retrain started", metadata: ["job": .string(job.id)])
            } catch {
                logger.warning("scheduled retrain not started", metadata: ["reason": .string("\(error)")])
            }
        }
        timer.resume()
        scheduleTimer = timer
    }

    nonisolated(unsafe) private var scheduleTimer: DispatchSourceTimer?
    nonisolated(unsafe) private var replica: ReplicaPoller?

    static func log(_ event: HTTPServerEvent, to logger: Logger) {
        switch event {
        case .listening(let host, let port, let backend):
            logger.notice("listening", metadata: ["host": .string(host), "port": .stringConvertible(port), "event_loop": .string(backend.rawValue)])
        case .connectionRejected(let peer, let open):
            logger.warning("connection rejected: too many connections", metadata: ["peer": .string(peer), "open": .stringConvertible(open)])
        case .connectionReport(let peer, .protocolError(let error)):
            logger.info("protocol error", metadata: ["peer": .string(peer), "status": .stringConvertible(error.status.code), "error": .string(error.description)])
        case .connectionReport(let peer, .timeout(let deadline)):
            logger.debug("connection timed out", metadata: ["peer": .string(peer), "deadline": .string(deadline.rawValue)])
        case .connectionFailed(let peer, let error):
            // A client that vanished is routine; any other failed call on a connection is not.
            logger.log(level: error.isPeerGone ? .debug : .warning, "connection failed", metadata: ["peer": .string(peer), "error": .string(error.description)])
        case .eventQueueFailed(let error):
            logger.error("event queue call failed", metadata: ["error": .string(error.description)])
        case .workersSaturated(let peer):
            logger.warning("workers saturated: answered 503", metadata: ["peer": .string(peer)])
        case .acceptFailed(let error):
            logger.error("accept failed", metadata: ["error": .string(error.description)])
        case .shutdownStarted(let open):
            logger.notice("shutting down", metadata: ["open_connections": .stringConvertible(open)])
        case .shutdownFinished(let forced):
            logger.notice("shut down", metadata: ["forced_closed": .stringConvertible(forced)])
        }
    }
}

/// `retrain_after_interactions`: after M newly ingested interactions, retrain on the base
/// data plus the log. The count restarts when a retrain starts; while one runs, the count
/// keeps growing and the next batch past M tries again.
final class IngestTrigger: @unchecked Sendable {
    let threshold: Int
    let jobs: JobManager
    let logger: Logger
    private let lock = NSLock()
    private var count = 0

    init(threshold: Int, jobs: JobManager, logger: Logger) {
        self.threshold = threshold
        self.jobs = jobs
        self.logger = logger
    }

    func accepted(_ n: Int) {
        guard threshold > 0 else { return }
        let due: Bool = lock.withLock {
            count += n
            return count >= threshold
        }
        guard due else { return }
        do {
            let job = try jobs.start(model: "wals", parameters: [:], data: nil, test: nil, items: nil, timeLimit: nil, includeLog: true)
            lock.withLock { count = 0 }
            logger.notice("retrain started after ingested interactions", metadata: ["job": .string(job.id), "threshold": .stringConvertible(threshold)])
        } catch {
            logger.debug("ingest-triggered retrain not started", metadata: ["reason": .string("\(error)")])
        }
    }
}
