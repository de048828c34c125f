import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing
import UnfoldSnapshot

/// `unfold import --from spark-als`: a snapshot from a Spark exchange directory, served like
/// any WALS model but folding in under Spark's own objective (ALS-WR):
///
///     (VᵀV + λ·n_u·I + Σ_i α|r_i| v_i v_iᵀ) q = Σ_(r_i > 0) (1 + α r_i) v_i
///
/// so a training user's posted history reproduces Spark's user vector. Neighbours, the
/// popularity fallback, item attributes and (with training and test data Unfold can read)
/// the held-out evaluation through serving are built as for a local model, so the promotion
/// gate compares like with like.
public struct SparkImporter {
    public let exchange: SparkExchange
    /// Name, data (training data and test for the evaluation, items file) and common
    /// parameters (k, neighbours, threads); also the recipe a retrain reuses.
    public let spec: TrainingSpec
    public let output: String
    public let reporter: ProgressReporter

    public init(exchange: SparkExchange, spec: TrainingSpec, output: String, reporter: ProgressReporter) {
        self.exchange = exchange
        self.spec = spec
        self.output = output
        self.reporter = reporter
    }

    /// The recipe of an exchange imported by hand: WALS under ALS-WR with Spark's
    /// hyperparameters, on the data Spark read, trained by Spark again.
    public static func recipe(_ exchange: SparkExchange, name: String, test: String?, items: String?) throws -> TrainingSpec {
        let h = exchange.metadata.hyperparameters
        return try TrainingSpec(kind: .wals, name: name, values: [
            "factors": .number(Double(h.factors)), "iterations": .number(Double(h.iterations)), "regularization": .number(h.regularization),
            "alpha": .number(h.alpha), "seed": .number(Double(h.seed)),
        ], data: DataSource(path: exchange.metadata.data.source, test: test, items: items), engine: .spark)
    }

    var threads: Int { spec.common.threads > 0 ? spec.common.threads : defaultThreadCount }

    /// The model an exchange serves: items in Spark's index order, the ALS-WR fold-in (with
    /// the users' Gram estimated from the sampled user vectors, scaled to all users).
    public static func model(_ exchange: SparkExchange, threads: Int) -> Model {
        let h = exchange.metadata.hyperparameters
        var foldIn = FoldIn(items: exchange.itemFactors, alpha: Float(h.alpha), unobservedWeight: 1, regularization: Float(h.regularization), objective: .alsWR)
        if let users = exchange.userFactors, users.rows > 0 {
            let scale = Float(exchange.metadata.data.users) / Float(users.rows)
            foldIn.userGram = gram(users, threads: threads).map { $0 * scale }
        }
        return Model(kind: .wals, version: 0, createdAt: 0, items: ItemTable(ids: exchange.itemIDs, vectors: exchange.itemFactors), encoder: .foldIn(foldIn),
                     popularity: exchange.itemCounts,
                     metadata: ModelMetadata(name: "", kind: ModelKind.wals.name, version: 0, createdAt: "", hyperparameters: [:], solver: "spark-als",
                                             data: .init(source: "", fingerprint: "", users: 0, items: 0, interactions: 0)))
    }

    public func run() throws -> TrainingPipeline.Outcome {
        let x = exchange, h = x.metadata.hyperparameters
        reporter.phase(.foldIn, detail: "spark-als \(x.itemIDs.count) items x \(h.factors) from \(x.location) (Spark \(x.metadata.sparkVersion))")
        var model = Self.model(x, threads: threads)
        let pipeline = TrainingPipeline(spec: spec, output: output, reporter: reporter)
        var evaluation: [String: Double] = [:], baseline: [String: Double] = [:]
        var data: TrainingData?
        // Unfold reads paths and file/http(s) URLs; Spark also reads hdfs://, s3a://, ….
        func readable(_ location: String) -> Bool { !location.contains("://") || Fetcher.isURL(location) }
        let unreadable = ([spec.data.path] + (spec.data.test.map { [$0] } ?? [])).filter { !readable($0) }
        if spec.data.test != nil, !unreadable.isEmpty {
            reporter.note("import: no evaluation through serving (Unfold does not read \(unreadable.joined(separator: ", "))); Spark's own metrics are kept as spark_*")
        }
        if (spec.data.test != nil || spec.data.items != nil) && unreadable.isEmpty {
            // Unfold's own evaluation through serving (and the items file) need the training
            // interactions, in the model's item order.
            let read = try pipeline.read()
            let aligned = Self.align(read, to: x.itemIDs)
            if aligned.dropped > 0 { reporter.note("import: \(aligned.dropped) training records of items Spark did not index left out of the evaluation") }
            data = aligned.data
        }
        reporter.phase(.neighbours, detail: "\(spec.common.neighbours) per item")
        model.neighbours = spec.common.neighbours > 0 ? NeighbourLists.cosine(model.items, k: spec.common.neighbours, threads: threads) : .none
        model.index = pipeline.buildIndex(model, queries: x.userFactors)
        if let data {
            model.attributes = try pipeline.attributes(data)
            let trained = TrainedModel(items: x.itemFactors, encoder: model.encoder, epochs: [], solver: "spark-als")
            (evaluation, baseline) = try pipeline.evaluate(ServedModel(name: spec.name, model: model), trained, data, try pipeline.heldOut(data))
        }
        // Spark's own metrics, computed from its trained user vectors.
        for (key, value) in x.metadata.evaluation ?? [:] where key != "users" { evaluation["spark_" + key] = value }
        model.version = TrainingPipeline.nextVersion(directory: output, name: spec.name)
        model.createdAt = UInt64(Date().timeIntervalSince1970)
        var stable = ["items": Double(stableRank(x.itemFactors))]
        if let users = x.userFactors, users.rows > 1 { stable["users_sample"] = Double(stableRank(users)) }
        model.metadata = ModelMetadata(
            name: spec.name, kind: ModelKind.wals.name, version: model.version, createdAt: ISO8601DateFormatter().string(from: Date()),
            hyperparameters: spec.values.compactMapValues { if case .number(let n) = $0 { return n } else { return nil } },
            solver: "spark-als (Spark \(x.metadata.sparkVersion), implicit ALS-WR)",
            data: .init(source: x.metadata.data.source, fingerprint: x.metadata.data.fingerprint, users: x.metadata.data.users,
                        items: x.metadata.data.items, interactions: x.metadata.data.records),
            evaluation: evaluation, popularityBaseline: baseline, stableRank: stable, itemSpectrum: singularValues(x.itemFactors),
            trainingSeconds: x.metadata.trainingSeconds ?? 0, recipe: spec)
        model.metadata.imported = ModelMetadata.Import(from: "spark-als", location: x.location, engineVersion: x.metadata.sparkVersion, createdAt: x.metadata.createdAt)
        reporter.phase(.write, detail: output)
        let path = try SnapshotWriter.write(model, name: spec.name, to: output)
        reporter.done(path: path, version: model.version, evaluation: evaluation)
        return TrainingPipeline.Outcome(path: path, model: model, evaluation: evaluation)
    }

    /// Training data re-indexed to the model's items (user ids as read); records of items the
    /// model lacks are dropped and counted.
    static func align(_ data: TrainingData, to itemIDs: [String]) -> (data: TrainingData, dropped: Int) {
        let source = data.interactions, items = IDMap(itemIDs)
        var out = Interactions(users: source.users, items: items, hasTimestamps: source.timestamps != nil)
        var dropped = 0
        for k in 0..<source.count {
            guard let i = items.index(of: source.items[source.itemIndex[k]]) else {
                dropped += 1
                continue
            }
            out.append(userIndex: source.userIndex[k], itemIndex: i, weight: source.weights[k], timestamp: source.timestamps?[k])
        }
        return (TrainingData(out), dropped)
    }
}

/// A Spark training run: `spark-submit` of the PySpark job with the spec's hyperparameters,
/// its progress lines relayed, then the import of its exchange directory. Runs inside the
/// trainer process (`unfold train` with engine spark), and spark-submit stays in the
/// trainer's process group: cancelling the job or its time limit stops Spark with it.
public struct SparkRun {
    public let spec: TrainingSpec
    public let settings: SparkSettings
    public let output: String
    public let reporter: ProgressReporter

    public init(spec: TrainingSpec, settings: SparkSettings, output: String, reporter: ProgressReporter) {
        self.spec = spec
        self.settings = settings
        self.output = output
        self.reporter = reporter
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The job's arguments for the spec.
    func jobArguments(exchange: String) -> [String] {
        let p = spec.parameters as! WALSParameters
        var arguments = [settings.job, "--data", spec.data.path, "--out", exchange,
                         "--factors", String(p.factors), "--iterations", String(p.iterations),
                         "--regularization", String(p.regularization), "--alpha", String(p.alpha), "--seed", String(spec.common.seed)]
        if let test = spec.data.test { arguments += ["--test", test] }
        if spec.data.skipBadLines { arguments.append("--skip-bad-lines") }
        return arguments
    }

    public func run() throws -> TrainingPipeline.Outcome {
        guard let submit = ChildProcess.which(settings.submit) else {
            throw Failure(description: "spark-submit '\(settings.submit)' is not an executable file or on PATH (set spark_submit)")
        }
        // The driver writes the exchange directory (client deploy mode: on this machine), so
        // it is a path here: the default beside the snapshots, or a shared file system's.
        var exchange = settings.exchange ?? (output as NSString).appendingPathComponent(".spark-\(spec.name)-\(getpid())")
        if exchange.lowercased().hasPrefix("file://") { exchange = URL(string: exchange)?.path ?? String(exchange.dropFirst(7)) }
        guard !exchange.contains("://") else {
            throw Failure(description: "spark_exchange '\(exchange)' must be a path both the Spark driver and this machine reach (a local or shared file system); publish a cluster's exchange directory and run unfold import on its URL instead")
        }
        try? FileManager.default.removeItem(atPath: exchange)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        if settings.exchange == nil { Self.removeStaleExchanges(in: output, name: spec.name) }
        let arguments = ["--master", settings.master] + settings.arguments + jobArguments(exchange: exchange)
        reporter.phase(.train, detail: "spark-submit --master \(settings.master) \(settings.job)")
        let child = try ChildProcess(executable: submit, arguments: arguments, ownGroup: false)
        // Spark's log goes to our stderr (the job record keeps its tail); the job's progress
        // lines on stdout become our progress records.
        let relay = Thread { for line in ChildProcess.lines(child.stderr) { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
        relay.start()
        for line in ChildProcess.lines(child.stdout) { relayProgress(line) }
        let (status, signal) = child.wait()
        guard status == 0 else {
            throw Failure(description: signal.map { "spark-submit was killed by signal \($0)" } ?? "spark-submit exited with status \(status ?? -1) (its log is on standard error)")
        }
        let read: SparkExchange
        do { read = try SparkExchange.read(exchange) } catch { throw Failure(description: "the Spark job's exchange directory: \(error)") }
        let outcome = try SparkImporter(exchange: read, spec: spec, output: output, reporter: reporter).run()
        if settings.exchange == nil { try? FileManager.default.removeItem(atPath: exchange) }
        return outcome
    }

    /// Default exchange directories of runs that were killed (their trainer is gone).
    static func removeStaleExchanges(in output: String, name: String) {
        let prefix = ".spark-\(name)-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (output as NSString).appendingPathComponent(entry))
        }
    }

    /// `UNFOLD_PROGRESS {"phase": ..., "detail": ...}` from the job, as a progress record.
    func relayProgress(_ line: String) {
        let prefix = "UNFOLD_PROGRESS "
        guard line.hasPrefix(prefix),
              let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(prefix.count).utf8)) as? [String: Any],
              let name = object["phase"] as? String else {
            if !line.isEmpty { reporter.note("spark: \(line.prefix(300))") }
            return
        }
        let detail = "spark: " + ((object["detail"] as? String) ?? "")
        switch name {
        case "note": reporter.note(detail)
        case "read": reporter.phase(.read, detail: detail)
        case "evaluate": reporter.phase(.evaluate, detail: detail)
        case "write": reporter.phase(.write, detail: detail)
        default: reporter.phase(.train, detail: detail)
        }
    }
}
