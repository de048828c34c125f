import Foundation
import Logging
import UnfoldData
import UnfoldHTTP
import UnfoldModels
import UnfoldServing

/// The service: configuration, routes and middleware on top of the HTTP server.
public final class UnfoldApplication: Sendable {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    public let router: HTTPRouter
    public let store: ModelStore
    public let jobs: JobSupervisor
    public let interactionLog: InteractionLog
    public let metrics: ServiceMetrics
    let histories: UserHistories
    let tombstones: UserTombstones
    let catalogue: ItemCatalogue
    let newItems: NewItems
    /// The connection layer's counts, handed to the server at start.
    let connectionStats = HTTPServerStats()
    let readiness: Readiness

    /// The release, as `unfold --version` prints it.
    public static let version = "0.1.0"

    public init(configuration: ServiceConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = ServiceMetrics()
        self.metrics = metrics
        let policy = ModelStore.Policy(promotionTolerance: configuration.promotionTolerance, retainVersions: configuration.retainVersions,
                                      countServing: configuration.metrics == "on", annMinItems: configuration.annMinItems)
        let store = ModelStore(directory: configuration.snapshots, policy: policy) { event in
            switch event {
            case .loaded(let name, let version, let path, let items, let seconds):
                metrics.loaded(name, seconds: seconds)
                logger.notice("model loaded", metadata: ["model": .string(name), "version": .stringConvertible(version), "path": .string(path),
                                                        "items": .stringConvertible(items), "seconds": .string(String(format: "%.3f", seconds))])
            case .swapped(let name, let from, let to):
                metrics.swapped(name)
                logger.notice("model activated", metadata: ["model": .string(name), "from": .string(from.map(String.init) ?? "none"), "to": .stringConvertible(to)])
            case .rejected(let path, let reason):
                metrics.rejected(reason: reason)
                logger.error("snapshot rejected", metadata: ["path": .string(path), "error": .string(reason)])
            case .heldBack(let name, let version, let reason):
                metrics.heldBack(name)
                logger.warning("snapshot held back", metadata: ["model": .string(name), "version": .stringConvertible(version), "reason": .string(reason)])
            case .removed(let path):
                logger.info("snapshot removed by retention", metadata: ["path": .string(path)])
            case .removalFailed(let path, let reason):
                logger.error("retention could not remove a snapshot", metadata: ["path": .string(path), "error": .string(reason)])
            case .watchUnavailable(let reason):
                logger.warning("snapshot directory events unavailable; polling only", metadata: ["error": .string(reason)])
            }
        }
        self.store = store
        self.interactionLog = try InteractionLog(directory: configuration.interactionLog, segmentBytes: configuration.logSegmentBytes,
                                                 onCommit: { metrics.committed($0) })
        if let recovery = interactionLog.recovery {
            logger.warning("interaction log: truncated a torn last record", metadata: ["segment": .string(recovery.segment), "bytes": .stringConvertible(recovery.truncatedBytes)])
        }
        let tombstones = try UserTombstones(directory: configuration.interactionLog)
        self.tombstones = tombstones
        let catalogue = try ItemCatalogue(directory: configuration.interactionLog)
        self.catalogue = catalogue
        let newItems = NewItems(minUsers: configuration.newItemMinUsers)
        self.newItems = newItems
        let experiments = try Experiments(directory: configuration.interactionLog, attributionWindow: configuration.attributionWindowSeconds)
        if !configuration.experiments.isEmpty {
            for definition in try Self.experiments(file: configuration.experiments) { try experiments.put(definition) }
        }
        let histories = UserHistories(capacity: configuration.userHistoryMax)
        self.histories = histories
        try Self.replay(configuration.interactionLog, into: histories, skipping: tombstones.all, logger: logger)
        self.jobs = JobSupervisor(settings: .init(
            jobsDirectory: configuration.jobs, snapshotsDirectory: configuration.snapshots, defaultData: configuration.trainData,
            defaultTest: configuration.trainTest, defaultItems: configuration.trainItems, timeLimitSeconds: configuration.jobTimeLimitSeconds,
            interactionLog: configuration.interactionLog,
            spark: SparkSettings(submit: configuration.sparkSubmit, master: configuration.sparkMaster,
                                 arguments: configuration.sparkArguments.split(separator: " ").map(String.init), job: configuration.sparkJob,
                                 exchange: configuration.sparkExchange.isEmpty ? nil : configuration.sparkExchange)
        ), store: store, logger: logger, onFinish: { _, seconds in metrics.jobSeconds.observe(units: UInt64(max(seconds, 0) * 1e3)) })
        self.readiness = Readiness(modelsLoaded: { store.count })
        let httpMetrics = HTTPMetricsMiddleware()
        let counting: [any HTTPMiddleware] = configuration.metrics == "on" ? [httpMetrics] : []
        self.router = HTTPRouter(middleware: counting + [
            RequestLogMiddleware(logger: logger),
            AdminAuthMiddleware(token: configuration.adminToken, metricsPublic: configuration.metricsPublic, apiToken: configuration.apiToken,
                                adminWrites: UserRoutes.adminWrites.union(CatalogueRoutes.adminWrites)),
            GzipMiddleware(minimumBytes: configuration.gzipMinBytes),
        ])
        HealthRoutes(readiness: readiness).register(on: router)
        let recommendations = RecommendRoutes(store: store, defaultModel: configuration.defaultModel, eventTypes: configuration.eventTypes, catalogue: catalogue,
                                              experiments: experiments, newItems: newItems, histories: histories)
        recommendations.register(on: router)
        CatalogueRoutes(catalogue: catalogue, store: store).register(on: router)
        UserRoutes(recommendations: recommendations, histories: histories, tombstones: tombstones, log: interactionLog,
                   eventTypes: configuration.eventTypes).register(on: router)
        AdminModelRoutes(store: store).register(on: router)
        AdminJobRoutes(jobs: jobs).register(on: router)
        let trigger = IngestTrigger(threshold: configuration.retrainAfterInteractions, model: configuration.defaultModel, jobs: jobs, logger: logger)
        AdminExperimentRoutes(experiments: experiments, store: store).register(on: router)
        IngestRoutes(log: interactionLog, metrics: metrics, eventTypes: configuration.eventTypes, histories: histories, experiments: experiments,
                     newItems: newItems, store: store,
                     onAccepted: { trigger.accepted($0) }).register(on: router)
        DashboardRoutes().register(on: router)
        MetricsRoutes(store: store, jobs: jobs, metrics: metrics, logs: .shared, version: Self.version, more: { [connectionStats] e in
            httpMetrics.render(&e)
            HTTPMetricsMiddleware.render(connectionStats, &e)
            let remembered = histories.counts
            e.family("unfold_users_remembered", "gauge", "Users with a stored history.")
            e.sample("unfold_users_remembered", [], Double(remembered.users))
            e.family("unfold_user_events_stored", "gauge", "Events held in users' histories (at most user_history_max per user).")
            e.sample("unfold_user_events_stored", [], Double(remembered.events))
            e.family("unfold_experiment_requests_total", "counter", "Answers an A/B test's arm gave (since the start or the experiment's last change).")
            e.family("unfold_experiment_hits_total", "counter", "Ingested events on an item the arm recommended to that user within attribution_window_seconds.")
            for d in experiments.all {
                for (k, c) in (experiments.counts(d.name) ?? []).enumerated() where k < d.arms.count {
                    e.sample("unfold_experiment_requests_total", [("experiment", d.name), ("arm", d.arms[k].name)], Double(c.requests))
                    e.sample("unfold_experiment_hits_total", [("experiment", d.name), ("arm", d.arms[k].name)], Double(c.hits))
                }
            }
        }).register(on: router)
        httpMetrics.freeze(routes: router.routes)
    }

    /// The A/B tests of the `experiments` file (arms are checked against the models when they
    /// answer, since none is loaded yet).
    static func experiments(file path: String) throws -> [Experiments.Definition] {
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path: path) } catch { throw ConfigurationError.unreadableFile(path: path, reason: "\(error)") }
        do throws(RequestError) {
            guard case .array(let list) = try JSONValue.parse(bytes) else { throw .badRequest("expected an array of experiments") }
            return try list.enumerated().map { (k, element) throws(RequestError) -> Experiments.Definition in
                guard case .object(var object) = element, case .string(let name)? = object.removeValue(forKey: "name") else {
                    throw .badRequest("experiments[\(k)] must be an object with a \"name\"")
                }
                return try AdminExperimentRoutes.definition(name: name, object, store: nil)
            }
        } catch {
            throw ConfigurationError.badValue(key: "experiments", .file(path), reason: error.message)
        }
    }

    /// Rebuilds the users' histories from the log (before the server listens), leaving out
    /// what erased users sent before their erasure.
    static func replay(_ directory: String, into histories: UserHistories, skipping erased: [String: InteractionLog.Position], logger: Logger) throws {
        guard histories.capacity > 0 else { return }
        let start = Date()
        var records = 0
        let bad = try InteractionLog.scan(directory: directory) { r, position in
            if let at = erased[r.user], position < at { return }
            histories.add(user: r.user, item: r.item, weight: r.weight, timestamp: r.timestamp, type: r.type)
            records += 1
        }
        let counts = histories.counts
        logger.notice("user histories rebuilt from the interaction log", metadata: [
            "records": .stringConvertible(records), "users": .stringConvertible(counts.users), "events": .stringConvertible(counts.events),
            "bad_records": .stringConvertible(bad), "erased_users": .stringConvertible(erased.count),
            "seconds": .string(String(format: "%.3f", Date().timeIntervalSince(start))),
        ])
    }

    /// Starts listening; returns the server and the bound port.
    public func start() throws -> (HTTPServer, UInt16) {
        let logger = self.logger
        let server = HTTPServer(configuration: configuration.httpServer, responder: router, stats: connectionStats) { event in
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
            // Items newer than the loaded models, from the histories the start rebuilt (live
            // ingest counts the rest; a user counts once either way).
            let models = store.all
            if !models.isEmpty, self.newItems.minUsers > 0 {
                let unknown = { (item: String) in models.contains { $0.index(of: item) == nil } }
                self.newItems.observe(self.histories.records(where: unknown), unknown: unknown)
            }
            store.startWatching(pollInterval: poll)
        }
        if configuration.adminToken.isEmpty {
            logger.warning("no admin token configured: admin routes answer loopback clients only")
        }
        if configuration.apiToken.isEmpty {
            logger.notice("no api_token configured: /v1 routes answer every client")
        }
        return (server, port)
    }

    /// `retrain_every_minutes`: start a retrain with the configured data on a timer; a
    /// retrain already running is left alone.
    private func scheduleRetraining() {
        let minutes = configuration.retrainEveryMinutes
        guard minutes > 0 else { return }
        let jobs = self.jobs, logger = self.logger, defaultModel = configuration.defaultModel
        let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + minutes * 60, repeating: minutes * 60)
        timer.setEventHandler {
            do {
                let (spec, basedOn) = try jobs.scheduledSpec(defaultModel, addLog: false)
                let job = try jobs.start(spec, basedOn: basedOn)
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
