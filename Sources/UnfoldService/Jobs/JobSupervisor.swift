import Foundation
import UnfoldModels
import Logging
import UnfoldData
import UnfoldServing

/// Runs retraining as separate `unfold train` processes and keeps their records on disk.
///
/// The server never trains in its own process: a crash, a runaway job or a kill -9 of a
/// trainer cannot take serving down. The supervisor writes the job's `TrainingSpec` as a
/// JSON file and starts `unfold train --spec FILE`; the trainer reports `TrainingProgress`
/// records as JSON lines and writes its snapshot only at the end, atomically; the model
/// store picks it up. Records are JSON files in the jobs directory; a job that was running
/// when the server stopped shows as `interrupted` after a restart.
public final class JobSupervisor: @unchecked Sendable {
    public struct Settings: Sendable {
        public var jobsDirectory: String
        public var snapshotsDirectory: String
        public var defaultData: String
        public var defaultTest: String
        public var defaultItems: String
        public var timeLimitSeconds: Double
        public var interactionLog: String
        public var killGraceSeconds: Double = 5
        public var nice: Int = 10
        public var executable: String = ChildProcess.currentExecutable
        /// How retrains with engine spark call Spark.
        public var spark = SparkSettings()
    }

    private let settings: Settings
    private let store: ModelStore
    private let logger: Logger
    private let lock = NSLock()
    private var records: [String: TrainingJob] = [:]
    private var children: [String: ChildProcess] = [:]
    private var cancelled: Set<String> = []
    private var timedOut: Set<String> = []
    private var lastPersist: [String: Date] = [:]

    private let onFinish: @Sendable (TrainingJob, Double) -> Void

    /// `onFinish` hears of every job that ends, with its wall time in seconds.
    public init(settings: Settings, store: ModelStore, logger: Logger, onFinish: @escaping @Sendable (TrainingJob, Double) -> Void = { _, _ in }) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.onFinish = onFinish
    }

    /// Loads the records on disk; jobs that were queued or running become `interrupted`.
    public func recover() {
        try? FileManager.default.createDirectory(atPath: settings.jobsDirectory, withIntermediateDirectories: true)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: settings.jobsDirectory)) ?? []
        for file in files where file.hasSuffix(".json") && !file.hasPrefix(".") {
            let path = (settings.jobsDirectory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path), var job = try? JSONDecoder().decode(TrainingJob.self, from: data) else {
                logger.warning("unreadable job record skipped", metadata: ["path": .string(path)])
                continue
            }
            if !job.state.isFinished {
                job.state = .interrupted
                job.error = "the server stopped while this job was \(job.state == .queued ? "queued" : "running")"
                job.finishedAt = Self.now()
                persist(job, force: true)
                logger.warning("job interrupted by a restart", metadata: ["job": .string(job.id)])
            }
            lock.withLock { records[job.id] = job }
        }
    }

    public var jobs: [TrainingJob] { lock.withLock { records.values.sorted { $0.createdAt > $1.createdAt || ($0.createdAt == $1.createdAt && $0.id > $1.id) } } }

    public func job(_ id: String) -> TrainingJob? { lock.withLock { records[id] } }

    /// The data a retrain uses when the request names none.
    public var defaultData: DataSource {
        DataSource(path: settings.defaultData, test: settings.defaultTest.isEmpty ? nil : settings.defaultTest,
                   items: settings.defaultItems.isEmpty ? nil : settings.defaultItems)
    }

    /// The interaction log directory, for retrains that add it.
    public var interactionLog: String { settings.interactionLog }

    /// The recipe of the active version of a model name, and that version.
    public func activeRecipe(_ name: String) -> (spec: TrainingSpec, version: UInt64)? {
        guard let model = store.model(named: name), let recipe = model.metadata.recipe else { return nil }
        return (recipe, model.version)
    }

    /// What an unattended retrain of `name` (on a schedule, or after ingested interactions)
    /// trains: the active version's recipe, else a WALS model on the configured data; with
    /// `addLog`, plus the interaction log.
    public func scheduledSpec(_ name: String, addLog: Bool) throws -> (spec: TrainingSpec, basedOn: UInt64?) {
        let recipe = activeRecipe(name)
        var spec = try recipe?.spec ?? TrainingSpec(kind: .wals, name: name, values: [:], data: defaultData)
        if addLog { spec.data.log = settings.interactionLog }
        return (spec, recipe?.version)
    }

    /// Checks a spec's files and starts its trainer process. `force` serves the result even
    /// when the promotion gate would hold it back; `basedOn` records whose recipe it reuses.
    func start(_ spec: TrainingSpec, timeLimit: Double? = nil, force: Bool = false, basedOn: UInt64? = nil) throws(RequestError) -> TrainingJob {
        // Every run the server starts leaves out the users erased through it.
        var spec = spec
        spec.data.erased = (settings.interactionLog as NSString).appendingPathComponent(UserTombstones.fileName)
        if let path = (spec.parameters as? SoftmaxParameters)?.userFeatures, !FileManager.default.isReadableFile(atPath: path) {
            throw .badRequest("user_features '\(path)' is not a readable file")
        }
        if spec.engine == .spark {
            // Spark reads its own URIs (hdfs://, s3a://, …): only local paths are checked here.
            guard ChildProcess.which(settings.spark.submit) != nil else {
                throw .unavailable("engine spark: spark-submit '\(settings.spark.submit)' is not an executable file or on PATH (set spark_submit)")
            }
            guard FileManager.default.isReadableFile(atPath: settings.spark.job) else {
                throw .unavailable("engine spark: the job '\(settings.spark.job)' is not a readable file (set spark_job)")
            }
        }
        if Fetcher.isURL(spec.data.path) || (spec.engine == .spark && spec.data.path.contains("://")) {
            // Fetched by the trainer (libcurl, with retries) or read by Spark; a failure fails the job.
        } else if !FileManager.default.isReadableFile(atPath: spec.data.path) {
            throw .badRequest("training data '\(spec.data.path)' is not a readable file")
        }
        if let test = spec.data.test, !Fetcher.isURL(test), !(spec.engine == .spark && test.contains("://")), !FileManager.default.isReadableFile(atPath: test) {
            throw .badRequest("test data '\(test)' is not a readable file")
        }
        if let items = spec.data.items, !FileManager.default.isReadableFile(atPath: items) {
            throw .badRequest("items file '\(items)' is not a readable file")
        }
        let limit = timeLimit ?? settings.timeLimitSeconds
        guard limit > 0 && limit <= 7 * 86_400 else { throw .badRequest("time_limit_seconds must be within 0...604800") }
        let model = spec.name

        let id = "job-\(UInt64(Date().timeIntervalSince1970 * 1000))-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        let specPath = (settings.jobsDirectory as NSString).appendingPathComponent("\(id).spec.json")
        do {
            try FileManager.default.createDirectory(atPath: settings.jobsDirectory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(spec).write(to: URL(fileURLWithPath: specPath), options: .atomic)
        } catch {
            throw .unavailable("could not write the job's spec \(specPath): \(error.localizedDescription)")
        }
        var arguments = ["train", "--spec", specPath, "--out", settings.snapshotsDirectory, "--progress", "json", "--nice", String(settings.nice)]
        if spec.engine == .spark { arguments += settings.spark.trainArguments }
        var job = TrainingJob(id: id, model: model, state: .queued, spec: spec, arguments: arguments, createdAt: Self.now(), stderrTail: [], timeLimitSeconds: limit)
        job.force = force
        job.basedOn = basedOn
        // One job per model at a time: a second retrain of the same model is a conflict.
        let conflict: TrainingJob? = lock.withLock {
            if let running = records.values.first(where: { $0.model == model && !$0.state.isFinished }) { return running }
            records[id] = job
            return nil
        }
        if let conflict { throw .conflict("model '\(model)' is already being retrained by \(conflict.id) (\(conflict.state.rawValue))") }

        let child: ChildProcess
        do {
            child = try ChildProcess(executable: settings.executable, arguments: arguments)
        } catch {
            job.state = .failed
            job.error = "could not start the trainer: \(error)"
            job.finishedAt = Self.now()
            update(job, force: true)
            throw .unavailable("could not start the trainer process: \(error)")
        }
        job.state = .running
        job.pid = child.pid
        job.startedAt = Self.now()
        lock.withLock { children[id] = child }
        update(job, force: true)
        logger.notice("job started", metadata: ["job": .string(id), "model": .string(model), "pid": .stringConvertible(child.pid)])
        supervise(id, child, limit: limit)
        return job
    }

    /// SIGTERM to the trainer's process group, SIGKILL after the grace period.
    public func cancel(_ id: String) throws(RequestError) -> TrainingJob {
        let (job, child): (TrainingJob?, ChildProcess?) = lock.withLock { (records[id], children[id]) }
        guard let job else { throw .notFound(code: "job_not_found", "no job '\(id)'") }
        guard !job.state.isFinished, let child else { throw .conflict("job '\(id)' already finished (\(job.state.rawValue))") }
        lock.withLock { _ = cancelled.insert(id) }
        terminate(child)
        logger.notice("job cancel requested", metadata: ["job": .string(id)])
        return job
    }

    private func terminate(_ child: ChildProcess) {
        child.signalGroup(SIGTERM)
        DispatchQueue.global().asyncAfter(deadline: .now() + settings.killGraceSeconds) { [weak self] in
            guard let self, lock.withLock({ children.values.contains { $0 === child } }) else { return }
            child.signalGroup(SIGKILL)
        }
    }

    private func supervise(_ id: String, _ child: ChildProcess, limit: Double) {
        // Progress: one `TrainingProgress` record per line on the trainer's stdout.
        Thread.detachNewThread { [self] in
            let decoder = JSONDecoder()
            for line in ChildProcess.lines(child.stdout) {
                guard let progress = try? decoder.decode(TrainingProgress.self, from: Data(line.utf8)) else {
                    logger.debug("trainer wrote a line that is not a progress record", metadata: ["job": .string(id), "line": .string(String(line.prefix(200)))])
                    continue
                }
                mutate(id, force: progress.phase == .done) { job in
                    if progress.phase == .done {
                        job.snapshot = progress.snapshot
                        job.snapshotVersion = progress.version
                        job.evaluation = progress.evaluation
                    }
                    // Notes are kept apart so the last epoch's numbers stay visible.
                    if progress.phase == .note {
                        job.notes.append(progress.detail ?? "")
                    } else if let trial = progress.trial {
                        job.trials.append(trial)
                        job.progress = progress
                    } else {
                        job.progress = progress
                    }
                }
            }
        }
        Thread.detachNewThread { [self] in
            for line in ChildProcess.lines(child.stderr) {
                mutate(id, force: false) { job in
                    job.stderrTail.append(line)
                    if job.stderrTail.count > 20 { job.stderrTail.removeFirst(job.stderrTail.count - 20) }
                }
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit) { [weak self] in
            guard let self, lock.withLock({ children[id] === child }) else { return }
            lock.withLock { _ = timedOut.insert(id) }
            logger.warning("job exceeded its time limit; stopping it", metadata: ["job": .string(id), "limit_seconds": .stringConvertible(limit)])
            terminate(child)
        }
        Thread.detachNewThread { [self] in
            let (status, signal) = child.wait()
            // Let the readers drain the pipes before the final record.
            usleep(50_000)
            let (wasCancelled, wasTimedOut) = lock.withLock { () -> (Bool, Bool) in
                children[id] = nil
                return (cancelled.contains(id), timedOut.contains(id))
            }
            mutate(id, force: true) { job in
                job.exitStatus = status
                job.signal = signal
                job.finishedAt = Self.now()
                job.pid = nil
                if wasCancelled {
                    job.state = .cancelled
                } else if wasTimedOut {
                    job.state = .failed
                    job.error = "time limit of \(Int(limit)) s exceeded"
                } else if status == 0, job.snapshot != nil {
                    job.state = .succeeded
                } else {
                    job.state = .failed
                    job.error = signal.map { "the trainer was killed by signal \($0)" }
                        ?? "the trainer exited with status \(status ?? -1): \(job.stderrTail.last ?? "no message")"
                }
            }
            let final = job(id)
            logger.notice("job finished", metadata: ["job": .string(id), "state": .string(final?.state.rawValue ?? "?"), "error": .string(final?.error ?? "")])
            if let final, let started = final.startedAt.flatMap(Self.parse) { onFinish(final, Date().timeIntervalSince(started)) }
            guard let final, final.state == .succeeded else { return }
            if final.force, let version = final.snapshotVersion {
                // Forced: serve this version whatever the gate says (an explicit activation).
                do {
                    try store.activate(name: final.spec.name, version: version)
                    logger.notice("forced job's model activated", metadata: ["job": .string(id), "version": .stringConvertible(version)])
                } catch {
                    logger.error("forced job's model could not be activated", metadata: ["job": .string(id), "error": .string("\(error)")])
                }
            } else {
                store.refresh()
            }
        }
    }

    private func mutate(_ id: String, force: Bool, _ change: (inout TrainingJob) -> Void) {
        let updated: TrainingJob? = lock.withLock {
            guard var job = records[id] else { return nil }
            change(&job)
            records[id] = job
            return job
        }
        if let updated { persist(updated, force: force) }
    }

    private func update(_ job: TrainingJob, force: Bool) {
        lock.withLock { records[job.id] = job }
        persist(job, force: force)
    }

    /// Writes the record atomically; progress updates at most once a second.
    private func persist(_ job: TrainingJob, force: Bool) {
        let due: Bool = lock.withLock {
            if !force, let last = lastPersist[job.id], Date().timeIntervalSince(last) < 1 { return false }
            lastPersist[job.id] = Date()
            return true
        }
        guard due else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(job) else { return }
        let path = (settings.jobsDirectory as NSString).appendingPathComponent("\(job.id).json")
        let temporary = (settings.jobsDirectory as NSString).appendingPathComponent(".\(job.id).json.tmp")
        if FileManager.default.createFile(atPath: temporary, contents: data) {
            rename(temporary, path)
        }
    }

    static func parse(_ timestamp: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: timestamp)
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
