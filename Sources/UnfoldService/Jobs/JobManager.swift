import Foundation
import UnfoldModels
import Logging
import UnfoldData
import UnfoldServing

/// Runs retraining as separate `unfold train` processes and keeps their records on disk.
///
/// The server never trains in its own process: a crash, a runaway job or a kill -9 of a
/// trainer cannot take serving down. A trainer writes its snapshot only at the end,
/// atomically; the model store picks it up. Records are JSON files in the jobs directory;
/// a job that was running when the server stopped shows as `interrupted` after a restart.
public final class JobManager: @unchecked Sendable {
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
    }

    /// Hyperparameters a retrain request may set, as `unfold train` flags.
    static let parameters: [String: String] = [
        "factors": "int", "iterations": "int", "regularization": "number", "alpha": "number", "unobserved_weight": "number",
        "solver": "string", "cg_steps": "int", "seed": "int", "threads": "int", "neighbours": "int", "k": "int",
        // mf-sgd, softmax, item2vec
        "epochs": "int", "learning_rate": "number", "loss": "string", "sampler": "string", "negatives": "int", "batch_size": "int",
        "optimizer": "string", "beta": "number", "hard_candidates": "int", "fold_in_scale": "number", "gravity": "number",
        "srank_weight": "number", "srank_epochs": "int", "window": "int", "subsample": "number", "walks": "int", "walk_length": "int",
        "hidden": "string", "input_dimensions": "int", "user_features": "string", "features": "string", "feature_dimensions": "int", "bag_dropout": "number",
    ]

    private let settings: Settings
    private let store: ModelStore
    private let logger: Logger
    private let lock = NSLock()
    private var records: [String: TrainingJob] = [:]
    private var children: [String: ChildProcess] = [:]
    private var cancelled: Set<String> = []
    private var timedOut: Set<String> = []
    private var lastPersist: [String: Date] = [:]

    public init(settings: Settings, store: ModelStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
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

    /// Validates a retrain request and starts its trainer process.
    func start(model: String, parameters: [String: JSONValue], data: String?, test: String?, items: String?, timeLimit: Double?, includeLog: Bool = false) throws(RequestError) -> TrainingJob {
        guard ModelKind(name: model) != nil else {
            throw .badRequest("unknown model kind '\(model)'; available: \(ModelKind.allCases.map(\.name).joined(separator: ", "))")
        }
        if case .string(let path)? = parameters["user_features"], !FileManager.default.isReadableFile(atPath: path) {
            throw .badRequest("user_features '\(path)' is not a readable file")
        }
        var arguments = ["train", "--model", model, "--out", settings.snapshotsDirectory, "--progress", "json", "--nice", String(settings.nice)]
        for key in parameters.keys.sorted() {
            guard let kind = Self.parameters[key] else {
                throw .badRequest("unknown parameter '\(key)'; known: \(Self.parameters.keys.sorted().joined(separator: ", "))")
            }
            let flag = "--" + key.replacingOccurrences(of: "_", with: "-")
            switch (kind, parameters[key]!) {
            case ("int", .number(let n)) where n == n.rounded() && abs(n) < 1e9: arguments += [flag, String(Int(n))]
            case ("number", .number(let n)) where n.isFinite: arguments += [flag, String(n)]
            case ("string", .string(let s)) where !s.isEmpty: arguments += [flag, s]
            default: throw .badRequest("parameter '\(key)' must be \(kind == "int" ? "a whole number" : kind == "number" ? "a number" : "a string")")
            }
        }
        let dataPath = data ?? settings.defaultData
        if Fetcher.isURL(dataPath) {
            // Fetched by the trainer (libcurl, with retries); a failure fails the job.
        } else if !FileManager.default.isReadableFile(atPath: dataPath) {
            throw .badRequest("training data '\(dataPath)' is not a readable file")
        }
        arguments += ["--data", dataPath]
        if includeLog { arguments += ["--log", settings.interactionLog] }
        if let testPath = test ?? (settings.defaultTest.isEmpty ? nil : settings.defaultTest) {
            guard FileManager.default.isReadableFile(atPath: testPath) else { throw .badRequest("test data '\(testPath)' is not a readable file") }
            arguments += ["--test", testPath]
        }
        if let itemsPath = items ?? (settings.defaultItems.isEmpty ? nil : settings.defaultItems) {
            guard FileManager.default.isReadableFile(atPath: itemsPath) else { throw .badRequest("items file '\(itemsPath)' is not a readable file") }
            arguments += ["--items", itemsPath]
        }
        let limit = timeLimit ?? settings.timeLimitSeconds
        guard limit > 0 && limit <= 7 * 86_400 else { throw .badRequest("time_limit_seconds must be within 0...604800") }

        let id = "job-\(UInt64(Date().timeIntervalSince1970 * 1000))-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        var job = TrainingJob(id: id, model: model, state: .queued, arguments: arguments, createdAt: Self.now(), stderrTail: [], timeLimitSeconds: limit)
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
        // Progress: one JSON object per line on the trainer's stdout.
        Thread.detachNewThread { [self] in
            for line in Self.lines(child.stdout) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                mutate(id, force: object["phase"] as? String == "done") { job in
                    let phase = object["phase"] as? String ?? "unknown"
                    if phase == "done" {
                        job.snapshot = object["snapshot"] as? String
                        job.snapshotVersion = (object["version"] as? NSNumber)?.uint64Value
                        job.evaluation = object["evaluation"] as? [String: Double]
                    }
                    job.progress = TrainingJob.Progress(
                        phase: phase, iteration: object["iteration"] as? Int, total: object["total"] as? Int,
                        loss: object["loss"] as? Double, elapsed: object["elapsed"] as? Double, eta: object["eta"] as? Double)
                }
            }
        }
        Thread.detachNewThread { [self] in
            for line in Self.lines(child.stderr) {
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
            if final?.state == .succeeded { store.refresh() }
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

    static func lines(_ handle: FileHandle) -> AnySequence<String> {
        AnySequence { () -> AnyIterator<String> in
            var buffer = Data()
            var finished = false
            return AnyIterator {
                while true {
                    if let newline = buffer.firstIndex(of: 0x0A) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...newline)
                        return line
                    }
                    if finished {
                        guard !buffer.isEmpty else { return nil }
                        defer { buffer.removeAll() }
                        return String(decoding: buffer, as: UTF8.self)
                    }
                    let chunk = handle.availableData
                    if chunk.isEmpty { finished = true } else { buffer.append(chunk) }
                }
            }
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
