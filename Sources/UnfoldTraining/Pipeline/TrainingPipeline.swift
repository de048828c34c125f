import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing
import UnfoldSnapshot

/// A training run from a spec to a snapshot file, the same for every model kind:
///
///     read the data (+ log) → held-out alignment → the kind's trainer → neighbours →
///     evaluation through serving → metadata (with the spec as the recipe) → snapshot, atomically
///
/// `unfold train` builds a spec from its flags and runs this; the server's jobs run
/// `unfold train --spec FILE`, which runs the same.
public struct TrainingPipeline {
    public let spec: TrainingSpec
    /// The snapshot directory.
    public let output: String
    public let reporter: ProgressReporter

    public init(spec: TrainingSpec, output: String, reporter: ProgressReporter) {
        self.spec = spec
        self.output = output
        self.reporter = reporter
    }

    public struct Outcome {
        public var path: String
        public var model: Model
        public var evaluation: [String: Double]
    }

    var threads: Int { spec.common.threads > 0 ? spec.common.threads : defaultThreadCount }
    var k: Int { spec.common.k }

    public func run() throws -> Outcome {
        var data = try read()
        var held = try heldOut(data)
        if let fraction = spec.data.holdout {
            (data, held) = try carve(data, fraction: fraction)
        }
        var spec = self.spec
        var trainer = try spec.makeTrainer()
        if !trainer.learnsDislikes && data.hasDislikes {
            let before = data.interactions.count
            data = data.withoutDislikes
            reporter.note("dislikes: \(before - data.interactions.count) records left out (\(spec.kind.name) learns from positive interactions only)")
        }
        var tuning: TuningRecord?
        if let request = spec.tune {
            let tuner = Tuner(spec: spec, request: request, threads: threads, reporter: reporter, carve: { try self.carve($0, fraction: $1, quiet: true) })
            (spec, tuning) = try tuner.run(data)
            trainer = try spec.makeTrainer()
        }
        var context = TrainingContext(threads: threads, seed: UInt64(spec.common.seed))
        let reporter = self.reporter
        context.onEpoch = { reporter.epoch($0, of: trainer.epochs) }
        context.note = { reporter.note($0) }
        context.phase = { reporter.phase($0, detail: $1) }
        if spec.common.evalEveryEpoch, let held {
            let k = self.k, threads = self.threads
            context.evaluate = { model, vectors, features in
                let served = ServedModel(name: model.metadata.name, model: model)
                let ndcg = Evaluation.rank(served, train: data.matrix, test: held, k: k, lists: .served(features: features), threads: threads).ndcg
                let trained = vectors.map { Evaluation.rank(served, train: data.matrix, test: held, k: k, lists: .vectors($0), threads: threads).ndcg }
                return (ndcg, trained)
            }
        }
        let trainStart = Date()
        let trained = try trainer.train(data, context)
        let trainingSeconds = Date().timeIntervalSince(trainStart)

        var model = trained.model(data, kind: spec.kind)
        if case .foldIn(var foldIn) = model.encoder {
            // WALS's user vectors are the fold-in vectors (one more half-step apart); other
            // trainers' are not, so theirs are folded in (a sample of users, scaled up).
            if spec.kind == .wals, let users = trained.userVectors {
                foldIn.userGram = gram(users, threads: threads)
            } else {
                foldIn.userGram = Self.userGram(of: data.matrix, foldIn: foldIn, items: trained.items, threads: threads)
            }
            model.encoder = .foldIn(foldIn)
        }
        reporter.phase(.neighbours, detail: "\(spec.common.neighbours) per item")
        model.neighbours = spec.common.neighbours > 0 ? NeighbourLists.cosine(model.items, k: spec.common.neighbours, threads: threads) : .none
        model.index = buildIndex(model, queries: trained.userVectors)
        model.attributes = try attributes(data)
        let served = ServedModel(name: spec.name, model: model)
        let (evaluation, baseline) = try evaluate(served, trained, data, held)
        model.version = Self.nextVersion(directory: output, name: spec.name)
        model.createdAt = UInt64(Date().timeIntervalSince1970)
        let items = trained.items
        model.metadata = ModelMetadata(
            name: spec.name, kind: spec.kind.name, version: model.version, createdAt: ISO8601DateFormatter().string(from: Date()),
            hyperparameters: spec.values.compactMapValues { if case .number(let n) = $0 { return n } else { return nil } }.merging(trained.chosen) { $1 },
            solver: trained.solver,
            data: .init(source: spec.data.path, fingerprint: data.interactions.fingerprint, users: data.interactions.users.count,
                        items: data.interactions.items.count, interactions: data.interactions.count),
            evaluation: evaluation, popularityBaseline: baseline,
            stableRank: trained.userVectors.map { ["users": Double(stableRank($0)), "items": Double(stableRank(items))] } ?? ["items": Double(stableRank(items))],
            itemSpectrum: singularValues(items), trainingSeconds: trainingSeconds, lossHistory: trained.epochs.map(\.loss), epochs: trained.epochs,
            recipe: spec)
        model.metadata.tuning = tuning
        reporter.phase(.write, detail: output)
        let path = try SnapshotWriter.write(model, name: spec.name, to: output)
        reporter.done(path: path, version: model.version, evaluation: evaluation)
        return Outcome(path: path, model: model, evaluation: evaluation)
    }

    /// The approximate index, for a catalogue of at least `ann_min_items` items whose scores
    /// are q·v alone, calibrated on up to 256 training users' vectors (else item rows).
    func buildIndex(_ model: Model, queries users: Matrix?) -> ItemIndex? {
        let minimum = spec.common.annMinItems
        guard minimum > 0, model.itemCount >= minimum, model.encoder.itemBias == nil else { return nil }
        let started = Date()
        var options = IndexBuilder.Options()
        options.seed = UInt64(spec.common.seed)
        options.threads = threads
        let queries = IndexBuilder.sampleRows(users ?? model.items.matrix, count: 256, seed: options.seed)
        reporter.phase(.index, detail: "\(IndexBuilder.lists(for: model.itemCount)) lists over \(model.itemCount) items")
        let index = IndexBuilder.build(model.items, queries: queries, options: options)
        reporter.note(String(format: "index: %d lists, %d probes, recall@10 %.4f on %d sample queries, built in %.1f s", index.lists, index.probes,
                             index.recall, index.sampleQueries, Date().timeIntervalSince(started)))
        return index
    }

    /// XᵀX of the training users' fold-in vectors, what item fold-in places a new item
    /// against (the served encoder's vectors, whatever the trainer's own user vectors were):
    /// at most `gramUsers` users, every n-th, the sum scaled to all of them.
    static let gramUsers = 20_000

    static func userGram(of matrix: CSRMatrix, foldIn: FoldIn, items: Matrix, threads: Int) -> [Float] {
        let d = foldIn.dimensions
        let step = max(1, matrix.rows / gramUsers)
        let sampled = (0..<matrix.rows).filter { $0 % step == 0 }
        let chunks = max(1, min(threads, sampled.count / 64))
        var partial = [[Float]](repeating: [Float](repeating: 0, count: d * d), count: chunks)
        partial.withUnsafeMutableBufferPointer { parts in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var scratch = [Float](repeating: 0, count: foldIn.scratchCount)
                var x = [Float](repeating: 0, count: d)
                var g = [Float](repeating: 0, count: d * d)
                items.storage.withUnsafeBufferPointer { table in
                    for u in sampled[(c * sampled.count / chunks)..<((c + 1) * sampled.count / chunks)] {
                        let range = matrix.rowRange(u)
                        guard !range.isEmpty else { continue }
                        let bag = ItemBag(row: u, of: matrix)
                        let ok = scratch.withUnsafeMutableBufferPointer { s in x.withUnsafeMutableBufferPointer { foldIn.encode(items: table.baseAddress!, bag: bag, scratch: s.baseAddress!, out: $0.baseAddress!) } }
                        guard ok else { continue }
                        for r in 0..<d where x[r] != 0 { for col in 0..<d { g[r * d + col] += x[r] * x[col] } }
                    }
                }
                parts[c] = g
            }
        }
        var total = [Float](repeating: 0, count: d * d)
        let scale = Float(matrix.rows) / Float(max(sampled.count, 1))
        for part in partial { for k in 0..<(d * d) { total[k] += part[k] * scale } }
        return total
    }

    /// The training interactions, plus the log's records when the spec names a log.
    func read() throws -> TrainingData {
        reporter.phase(.read, detail: spec.data.path)
        let started = Date()
        let read = try InteractionReader(skipBadLines: spec.data.skipBadLines).read(location: spec.data.path)
        let parsed = Date()
        if read.skippedLines > 0 { reporter.note("skipped \(read.skippedLines) bad lines, e.g. \(read.skippedExamples.first ?? "")") }
        let erased = spec.data.erased.map { UserTombstones.read($0).erased } ?? [:]
        var interactions = Self.withoutErased(read.interactions, erased, note: { reporter.note("erasure: \($0) records of erased users left out of \(spec.data.path)") })
        if let log = spec.data.log {
            var added = 0, skipped = 0
            let bad = try InteractionLog.scan(directory: log) { r, position in
                if let at = erased[r.user], position < at {
                    skipped += 1
                    return
                }
                interactions.append(user: r.user, item: r.item, weight: r.weight, timestamp: r.timestamp)
                added += 1
            }
            reporter.note("added \(added) logged interactions from \(log)" + (bad > 0 ? " (\(bad) damaged records skipped)" : "")
                          + (skipped > 0 ? "; \(skipped) records of erased users left out" : ""))
        }
        let indexStart = Date()
        let data = TrainingData(interactions)
        reporter.note(String(format: "read %d interactions (%d users, %d items) in %.2f s; users × items matrix in %.2f s", read.interactions.count,
                             interactions.users.count, interactions.items.count, parsed.timeIntervalSince(started), Date().timeIntervalSince(indexStart)))
        return data
    }

    /// A file's interactions without the erased users' records (a file has no positions, so
    /// all of them); the same id spaces less those users when some leave.
    static func withoutErased(_ source: Interactions, _ erased: [String: InteractionLog.Position], note: (Int) -> Void) -> Interactions {
        guard !erased.isEmpty, source.users.ids.contains(where: { erased[$0] != nil }) else { return source }
        var kept = Interactions(items: source.items, hasTimestamps: source.timestamps != nil)
        let users = source.users.ids
        var skipped = 0
        for k in 0..<source.count {
            let user = users[Int(source.userIndex[k])]
            if erased[user] != nil {
                skipped += 1
                continue
            }
            kept.append(userIndex: kept.users.intern(user), itemIndex: source.itemIndex[k], weight: source.weights[k], timestamp: source.timestamps?[k])
        }
        note(skipped)
        return kept
    }

    /// Held-out interactions mapped into the training id spaces, when the spec has them.
    func heldOut(_ data: TrainingData) throws -> CSRMatrix? {
        guard let test = spec.data.test else { return nil }
        let erased = spec.data.erased.map { UserTombstones.read($0).erased } ?? [:]
        let testData = Self.withoutErased(try InteractionReader(skipBadLines: spec.data.skipBadLines).read(location: test).interactions, erased, note: { _ in })
        return Evaluation.align(test: testData, to: data.interactions)
    }

    /// Training data without a hold-out of `fraction` of it, and the hold-out aligned to it:
    /// per user the latest interactions by time (timestamps), else a seeded random share.
    func carve(_ data: TrainingData, fraction: Double, quiet: Bool = false) throws -> (TrainingData, CSRMatrix) {
        let method: SplitMethod = data.interactions.timestamps != nil ? .temporal(testFraction: fraction) : .random(testFraction: fraction, seed: UInt64(spec.common.seed))
        let (split, test) = try Splitter.split(data.interactions, method)
        // The split keeps both id spaces whole; the model learns only the ids it trains on.
        var train = Interactions(hasTimestamps: split.timestamps != nil)
        for k in 0..<split.count {
            train.append(user: split.users[split.userIndex[k]], item: split.items[split.itemIndex[k]], weight: split.weights[k], timestamp: split.timestamps?[k])
        }
        if !quiet { reporter.note("holdout: \(test.count) of \(data.interactions.count) interactions held out for evaluation (\(data.interactions.timestamps != nil ? "latest per user" : "at random"))") }
        return (TrainingData(train), Evaluation.align(test: test, to: train))
    }

    /// Titles and categories of the trained items, from the spec's items file.
    func attributes(_ data: TrainingData) throws -> [String: ItemAttributes] {
        guard let path = spec.data.items else { return [:] }
        let catalog = try ItemCatalog.read(path: path)
        var out: [String: ItemAttributes] = [:]
        for id in data.itemIDs {
            if let entry = catalog[id] { out[id] = ItemAttributes(title: entry.title, categories: entry.categories) }
        }
        return out
    }

    /// Held-out metrics through the served model (and, with trained user vectors, through
    /// those), the popularity baseline, and the folding rate on planted groups.
    func evaluate(_ served: ServedModel, _ trained: TrainedModel, _ data: TrainingData, _ held: CSRMatrix?) throws -> (model: [String: Double], baseline: [String: Double]) {
        var evaluation: [String: Double] = [:], baseline: [String: Double] = [:]
        let lists = Evaluation.Lists.served(features: trained.userFeatures)
        if let held {
            reporter.phase(.evaluate, detail: spec.data.test ?? "holdout \(spec.data.holdout ?? 0)")
            evaluation = Evaluation.rank(served, train: data.matrix, test: held, k: k, lists: lists, threads: threads).dictionary
            baseline = Evaluation.rank(served, train: data.matrix, test: held, k: k, lists: .popularity, threads: threads).dictionary
            if let users = trained.userVectors {
                // The same users ranked by their trained vectors instead of the encoder: tells
                // training quality apart from the encoder's.
                evaluation["trained_users_ndcg@\(k)"] = Evaluation.rank(served, train: data.matrix, test: held, k: k, lists: .vectors(users), threads: threads).ndcg
            }
        }
        if let groups = spec.data.groups {
            let planted = try PlantedGroups.read(path: groups)
            let userGroups = PlantedGroups.align(planted.users, to: data.interactions.users.ids)
            let itemGroups = PlantedGroups.align(planted.items, to: data.itemIDs)
            evaluation["folding@\(k)"] = Evaluation.foldingRate(served, train: data.matrix, userGroups: userGroups, itemGroups: itemGroups, k: k, lists: lists, threads: threads)
            evaluation["folding_excess"] = Evaluation.foldingExcess(served, train: data.matrix, userGroups: userGroups, itemGroups: itemGroups, lists: lists, threads: threads)
            if let users = trained.userVectors {
                // The trained user vectors fold where the served fold-in may not: report both.
                evaluation["trained_users_folding@\(k)"] = Evaluation.foldingRate(served, train: data.matrix, userGroups: userGroups, itemGroups: itemGroups, k: k,
                                                                                  lists: .vectors(users), threads: threads)
                evaluation["trained_users_folding_excess"] = Evaluation.foldingExcess(served, train: data.matrix, userGroups: userGroups, itemGroups: itemGroups,
                                                                                      lists: .vectors(users), threads: threads)
            }
        }
        return (evaluation, baseline)
    }

    /// Milliseconds since the epoch, and always above every version already in the directory.
    public static func nextVersion(directory: String, name: String) -> UInt64 {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let highest = existing.compactMap { file in
            SnapshotWriter.parse(fileName: file).flatMap { $0.name == name ? $0.version : nil }
        }.max() ?? 0
        return max(now, highest + 1)
    }
}
