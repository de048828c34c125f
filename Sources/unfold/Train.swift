import ArgumentParser
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot
import UnfoldTraining

/// `unfold train`: trains a model and writes its snapshot atomically. This is the
/// command the server's background jobs run as a separate process.
struct Train: ParsableCommand {
    enum Progress: String, ExpressibleByArgument, CaseIterable { case auto, json, text, none }

    static let configuration = CommandConfiguration(
        abstract: "Train a model and write its snapshot.",
        discussion: "Hyperparameter names follow implicit's: --factors, --iterations, --regularization, --alpha."
    )

    @Option(help: "Model kind: wals, mf-sgd, softmax or item2vec.") var model = "wals"
    @Option(help: "Training interactions (TSV, CSV or JSONL, optionally gzip): a path or an http(s)/file URL.") var data: String
    @Option(help: "Held-out interactions: held-out metrics go into the snapshot metadata.") var test: String?
    @Option(help: "Also train on the records of this interaction log directory (POST /v1/interactions).") var log: String?
    @Option(help: "Items file with titles and categories (TSV with header, or RecBole .item).") var items: String?
    @Option(help: "Snapshot directory.") var out = "snapshots"
    @Option(help: "Model name (default: the kind).") var name: String?
    @Option(help: "Embedding dimension d.") var factors = 64
    @Option(help: "Alternating iterations.") var iterations = 15
    @Option(help: "L2 regularization λ.") var regularization: Float = 0.01
    @Option(help: "Confidence slope α in c = 1 + α r.") var alpha: Float = 1
    @Option(name: .customLong("unobserved-weight"), help: "Weight w0 of unobserved cells.") var unobservedWeight: Float = 1
    @Option(help: "cholesky (exact) or cg (conjugate gradient).") var solver = "cholesky"
    @Option(name: .customLong("cg-steps"), help: "Conjugate-gradient steps per row.") var cgSteps = 3
    @Option(help: "Threads (0: one per core).") var threads = 0
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Nearest neighbours precomputed per item (0: none).") var neighbours = 100
    @Option(help: "Cut-off k of the held-out metrics.") var k = 10
    @Option(help: "auto (a bar on a terminal, lines otherwise), json (JSON lines on stdout), text or none.") var progress: Progress = .auto
    @Flag(name: .customLong("skip-bad-lines"), help: "Count bad lines instead of stopping.") var skipBadLines = false
    @Option(help: "Lower this process's scheduling priority by N (the server's jobs use 10).") var nice = 0
    @Option(help: "mf-sgd, softmax, item2vec: epochs.") var epochs = 20
    @Option(name: .customLong("learning-rate"), help: "mf-sgd, softmax, item2vec: learning rate (default 0.05; softmax 0.002, Adam).") var learningRate: Float?
    @Option(help: "mf-sgd: bpr, bce or softmax (sampled, with logQ correction).") var loss = "bpr"
    @Option(help: "mf-sgd: negatives from none (positives only), uniform, popularity, hard or in-batch; softmax: uniform or popularity.") var sampler = "uniform"
    @Option(help: "mf-sgd, softmax, item2vec: negatives per positive (default 1; softmax 100; bpr uses one).") var negatives: Int?
    @Option(name: .customLong("batch-size"), help: "mf-sgd: positives per update (1: plain SGD).") var batchSize = 1
    @Option(help: "mf-sgd: sgd, adagrad or adam.") var optimizer = "adagrad"
    @Option(help: "mf-sgd: popularity sampler exponent β in count^β.") var beta = 0.75
    @Option(name: .customLong("hard-candidates"), help: "mf-sgd: candidates per hard negative.") var hardCandidates = 20
    @Option(name: .customLong("fold-in-scale"), help: "mf-sgd: the fold-in λ as a multiple of the mean squared item norm (large: close to a weighted sum of item vectors); default: the one of 1, 10, …, 10⁴ whose rankings best agree with the trained user vectors'.") var foldInScale: Double?
    @Option(help: "mf-sgd: weight of the gravity regularizer (mean squared score over all pairs; 0: off).") var gravity: Float = 0
    @Option(name: .customLong("srank-weight"), help: "mf-sgd: weight γ of the stable-rank regularizer −γ·srank/d on each mini-batch (needs --batch-size > 1; 0: off).") var srankWeight: Float = 0
    @Option(name: .customLong("srank-epochs"), help: "mf-sgd: epochs the stable-rank regularizer stays on (a warm start).") var srankEpochs = 0
    @Option(help: "item2vec: context window.") var window = 5
    @Option(help: "item2vec: subsampling threshold t (0: off).") var subsample = 1e-3
    @Option(help: "item2vec: random walks per item on the transition graph (0: none).") var walks = 0
    @Option(name: .customLong("walk-length"), help: "item2vec: items per random walk.") var walkLength = 20
    @Option(help: "softmax: hidden ReLU layer widths, comma-separated (e.g. 256,128; empty: none).") var hidden = "128"
    @Option(name: .customLong("input-dimensions"), help: "softmax: width of the input item embeddings (default: --factors).") var inputDimensions: Int?
    @Option(name: .customLong("user-features"), help: "softmax: users file (TSV with a header: user id, then feature columns; RecBole .user).") var userFeatures: String?
    @Option(help: "softmax: feature columns to use, each optionally typed, e.g. age:numeric,gender,occupation (default: all).") var features: String?
    @Option(name: .customLong("bag-dropout"), help: "softmax: probability an example's item bag is dropped, teaching answers from features alone.") var bagDropout: Float = 0
    @Option(name: .customLong("feature-dimensions"), help: "softmax: embedding width of each categorical feature.") var featureDimensions = 8
    @Flag(name: .customLong("eval-every-epoch"), help: "mf-sgd, softmax: held-out NDCG@k after every epoch (needs --test; untimed) into the metadata.") var evalEveryEpoch = false
    @Option(help: "Planted groups (unfold generate --groups-out): the folding rate goes into the metadata.") var groups: String?

    func validate() throws {
        guard let kind = ModelKind(name: model) else { throw ValidationError("model '\(model)' is not available; available: wals, mf-sgd, softmax, item2vec") }
        guard MFSGD.Loss(rawValue: loss) != nil else { throw ValidationError("--loss must be bpr, bce or softmax") }
        guard ["none", "uniform", "popularity", "hard", "in-batch"].contains(sampler) else { throw ValidationError("--sampler must be none, uniform, popularity, hard or in-batch") }
        if kind == .softmax, !["uniform", "popularity"].contains(sampler) { throw ValidationError("--sampler must be uniform or popularity for softmax") }
        if sampler == "in-batch", batchSize < 2 { throw ValidationError("--sampler in-batch needs --batch-size of at least 2") }
        guard MFSGD.Optimizer(rawValue: optimizer) != nil else { throw ValidationError("--optimizer must be sgd, adagrad or adam") }
        guard epochs >= 1, (negatives ?? 1) >= 1, batchSize >= 1, (learningRate ?? 1) > 0 else { throw ValidationError("--epochs, --negatives, --batch-size must be at least 1 and --learning-rate positive") }
        guard hiddenSizes != nil else { throw ValidationError("--hidden must be comma-separated positive integers, got '\(hidden)'") }
        guard bagDropout >= 0 && bagDropout < 1 else { throw ValidationError("--bag-dropout must be within [0, 1)") }
        guard (inputDimensions ?? 1) >= 1, featureDimensions >= 1 else { throw ValidationError("--input-dimensions and --feature-dimensions must be at least 1") }
        guard WALS.Solver(rawValue: solver) != nil else { throw ValidationError("--solver must be cholesky or cg, got '\(solver)'") }
        guard factors >= 1 && factors <= 1024 else { throw ValidationError("--factors must be within 1...1024") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
        guard regularization >= 0, alpha >= 0, unobservedWeight >= 0 else { throw ValidationError("--regularization, --alpha and --unobserved-weight must be non-negative") }
        guard k >= 1 && k <= 1000 else { throw ValidationError("--k must be within 1...1000") }
        if evalEveryEpoch && test == nil { throw ValidationError("--eval-every-epoch needs --test") }
    }

    /// mf-sgd is served by the fold-in solve against its item table (c = 1 + r, w0 = 1), with
    /// λ a multiple (--fold-in-scale) of the mean squared item norm, to match the table's scale.
    func servedFoldIn(_ items: Matrix, scale: Double) -> FoldIn {
        let meanSquaredNorm = Double(items.frobeniusNormSquared) / Double(max(items.rows, 1))
        return FoldIn(items: items, alpha: 1, unobservedWeight: 1, regularization: Float(scale * meanSquaredNorm + 1e-6))
    }

    /// The fold-in scale whose served rankings best reproduce the model's own: for up to
    /// 3,000 training users, the overlap of the top-k by fold-in (over the user's training
    /// row) with the top-k by the trained user vector, over scales 1, 10, …, 10⁴. Uses no
    /// held-out data. Returns the scale and each grid point's agreement.
    func chooseFoldInScale(users: Matrix, items: Matrix, _ matrix: CSRMatrix, threads: Int) -> (scale: Double, grid: [Double: Double]) {
        let eligible = (0..<matrix.rows).filter { matrix.rowCount($0) > 0 }
        let stride = max(1, eligible.count / 3000)
        let sample = eligible.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
        // The trained users' lists once; each scale's fold-in lists against them.
        let reference = Evaluation.topLists(train: matrix, users: sample, k: k, threads: threads, makeScorer: trainedUserScorer(users, items))
        var grid: [Double: Double] = [:]
        for scale in [1.0, 10, 100, 1000, 10000] {
            let encoder = servedFoldIn(items, scale: scale)
            grid[scale] = Evaluation.topListAgreement(train: matrix, users: sample, k: k, threads: threads, reference: reference) {
                Evaluation.servingScorer(items: items, foldIn: encoder, train: matrix)
            }
        }
        let best = grid.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        return (best, grid)
    }

    /// Scores a user with its trained vector (mf-sgd) instead of the serving encoder.
    func trainedUserScorer(_ users: Matrix, _ items: Matrix) -> () -> Evaluation.Scorer {
        {
            { user, scores in
                users.storage.withUnsafeBufferPointer { u in
                    items.storage.withUnsafeBufferPointer { v in
                        matrixVector(v.baseAddress!, rows: items.rows, cols: items.cols, u.baseAddress! + user * items.cols, into: scores.baseAddress!)
                    }
                }
            }
        }
    }

    var hiddenSizes: [Int]? {
        let parts = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ ($0 ?? 0) >= 1 && ($0 ?? 0) <= 4096 }) else { return nil }
        return parts.map { $0! }
    }

    func run() throws {
        if nice > 0 { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(nice)) }
        let reporter = ProgressReporter(mode: progress)
        let started = Date()
        reporter.phase("read", detail: data)
        let read = try cliTry { try InteractionReader(skipBadLines: skipBadLines).read(location: data) }
        if read.skippedLines > 0 { reporter.note("skipped \(read.skippedLines) bad lines, e.g. \(read.skippedExamples.first ?? "")") }
        var interactions = read.interactions
        if let log {
            let logged = try cliTry { try InteractionLog.readAll(directory: log) }
            for r in logged.records { interactions.append(user: r.user, item: r.item, weight: r.weight, timestamp: r.timestamp) }
            reporter.note("added \(logged.records.count) logged interactions from \(log)" + (logged.badRecords > 0 ? " (\(logged.badRecords) damaged records skipped)" : ""))
        }
        let matrix = interactions.userItemMatrix()

        let threadCount = threads > 0 ? threads : defaultThreadCount
        let kind = ModelKind(name: model)!
        // Held-out interactions, mapped into the training id spaces.
        var held: CSRMatrix?
        if let test {
            let testData = try cliTry { try InteractionReader(skipBadLines: skipBadLines).read(location: test) }.interactions
            held = Evaluation.align(test: testData, to: interactions)
        }
        /// NDCG@k of a model state through the serving encoder, for --eval-every-epoch.
        func heldOutNDCG(items: Matrix, foldIn: FoldIn?, tower: Tower?, features: [[Float]]) -> Double {
            Evaluation.rank(train: matrix, test: held!, k: k, threads: threadCount) {
                Evaluation.servingScorer(items: items, foldIn: foldIn, train: matrix, tower: tower, features: features)
            }.ndcg
        }
        let trainStart = Date()
        let itemFactors: Matrix, userFactors: Matrix, lossHistory: [Double]
        var tower: Tower?
        var towerFeatures: SoftmaxDNN.Features?
        var epochRecords: [ModelMetadata.EpochRecord] = []
        let hyperparameters: [String: Double]
        let foldIn: FoldIn?
        if kind == .item2vec {
            var p = Item2Vec.Parameters()
            p.factors = factors
            p.window = window
            p.epochs = epochs
            p.negatives = negatives ?? 1
            p.learningRate = learningRate ?? 0.05
            p.subsample = subsample
            p.walksPerItem = walks
            p.walkLength = walkLength
            p.threads = threadCount
            p.seed = seed
            let sequences = Item2Vec.sequences(interactions)
            reporter.phase("train", detail: "item2vec \(sequences.count) sequences over \(matrix.cols) items")
            var losses: [Double] = []
            itemFactors = Item2Vec.train(sequences: sequences, items: matrix.cols, p) { epoch in
                losses.append(epoch.loss)
                reporter.iteration(WALS.Iteration(iteration: epoch.epoch, of: epoch.of, loss: epoch.loss, seconds: epoch.seconds))
                epochRecords.append(.init(epoch: epoch.epoch, loss: epoch.loss, seconds: epoch.seconds, stableRankItems: Double(epoch.itemStableRank), stableRankUsers: nil))
            }
            (userFactors, lossHistory, hyperparameters) = (Matrix(rows: 0, cols: factors), losses, p.dictionary)
            foldIn = nil
        } else if kind == .softmax {
            var p = SoftmaxDNN.Parameters()
            p.factors = factors
            p.inputDimensions = inputDimensions ?? factors
            p.hidden = hiddenSizes!
            p.featureDimensions = featureDimensions
            p.epochs = epochs
            p.learningRate = learningRate ?? 0.002
            p.regularization = regularization
            p.negatives = negatives ?? 100
            p.batchSize = batchSize > 1 ? batchSize : 64
            p.sampling = sampler == "popularity" ? .popularity(beta: beta) : .uniform
            p.bagDropout = bagDropout
            p.threads = threadCount
            p.seed = seed
            let (sequences, ordered) = SoftmaxDNN.sequences(interactions)
            if let userFeatures {
                let file = try cliTry { try UserFeatureFile.read(path: userFeatures) }
                towerFeatures = try cliTry { try SoftmaxDNN.features(file, path: userFeatures, selection: features, users: interactions.users, dimensions: featureDimensions) }
                reporter.note("features: " + towerFeatures!.schema.map { "\($0.name) (\($0.kind.rawValue)\($0.kind == .categorical ? ", \($0.values.count) values" : ""))" }.joined(separator: ", "))
            }
            reporter.phase("train", detail: "softmax \(sequences.count) users x \(matrix.cols) items, layers \(p.hidden.map(String.init).joined(separator: "-"))-\(factors), \(p.negatives) \(sampler) negatives, \(ordered ? "next item in time" : "leave one out")")
            let values = towerFeatures?.values
            let evaluate: ((SoftmaxDNN.Result) -> Double)? = !evalEveryEpoch ? nil : { model in
                let vectors = values.map { $0.map { (try? model.tower.featureVector($0)) ?? [] } } ?? []
                return heldOutNDCG(items: model.items, foldIn: nil, tower: model.tower, features: vectors)
            }
            let result = SoftmaxDNN.train(sequences, ordered: ordered, items: matrix.cols, features: towerFeatures, p, evaluate: evaluate) { epoch in
                reporter.iteration(WALS.Iteration(iteration: epoch.epoch, of: epoch.of, loss: epoch.loss, seconds: epoch.seconds))
                epochRecords.append(.init(epoch: epoch.epoch, loss: epoch.loss, seconds: epoch.seconds, stableRankItems: Double(epoch.itemStableRank),
                                          stableRankUsers: nil, ndcg: epoch.heldOut))
            }
            (itemFactors, userFactors, lossHistory, hyperparameters) = (result.items, Matrix(rows: 0, cols: factors), result.epochs.map { $0.loss }, p.dictionary)
            tower = result.tower
            foldIn = nil
        } else if kind == .wals {
            var p = WALS.Parameters()
            p.factors = factors
            p.iterations = iterations
            p.regularization = regularization
            p.alpha = alpha
            p.unobservedWeight = unobservedWeight
            p.solver = WALS.Solver(rawValue: solver)!
            p.cgSteps = cgSteps
            p.threads = threadCount
            p.seed = seed
            reporter.phase("train", detail: "wals \(matrix.rows) users x \(matrix.cols) items, \(matrix.nonZeroCount) cells")
            let result = WALS.train(matrix, p, onIteration: { iteration in
                reporter.iteration(iteration)
                epochRecords.append(.init(epoch: iteration.iteration, loss: iteration.loss, seconds: iteration.seconds,
                                          stableRankItems: Double(iteration.itemStableRank ?? 0), stableRankUsers: iteration.userStableRank.map(Double.init)))
            })
            (itemFactors, userFactors, lossHistory, hyperparameters) = (result.itemFactors, result.userFactors, result.lossHistory, p.dictionary)
            foldIn = FoldIn(items: itemFactors, alpha: alpha, unobservedWeight: unobservedWeight, regularization: regularization)
        } else {
            var p = MFSGD.Parameters()
            p.factors = factors
            p.epochs = epochs
            p.learningRate = learningRate ?? 0.05
            p.regularization = regularization
            p.loss = MFSGD.Loss(rawValue: loss)!
            p.negatives = negatives ?? 1
            p.batchSize = batchSize
            p.optimizer = MFSGD.Optimizer(rawValue: optimizer)!
            p.gravity = gravity
            p.stableRankWeight = srankWeight
            p.stableRankEpochs = srankEpochs
            p.threads = threadCount
            p.seed = seed
            switch sampler {
            case "none": p.sampling = .none
            case "popularity": p.sampling = .popularity(beta: beta)
            case "hard": p.sampling = .hard(candidates: hardCandidates, temperature: 1)
            case "in-batch": p.sampling = .inBatch
            default: p.sampling = .uniform
            }
            reporter.phase("train", detail: "mf-sgd \(loss)/\(sampler) \(matrix.rows) users x \(matrix.cols) items, \(matrix.nonZeroCount) cells")
            let evaluate: ((Matrix, Matrix) -> [String: Double])? = !evalEveryEpoch ? nil : { users, items in
                ["served": heldOutNDCG(items: items, foldIn: servedFoldIn(items, scale: foldInScale ?? 1000), tower: nil, features: []),
                 "trained": Evaluation.rank(train: matrix, test: held!, k: k, threads: threadCount, makeScorer: trainedUserScorer(users, items)).ndcg]
            }
            let result = MFSGD.train(matrix, p, evaluate: evaluate) { epoch in
                reporter.iteration(WALS.Iteration(iteration: epoch.epoch, of: epoch.of, loss: epoch.loss, seconds: epoch.seconds))
                epochRecords.append(.init(epoch: epoch.epoch, loss: epoch.loss, seconds: epoch.seconds, stableRankItems: Double(epoch.itemStableRank),
                                          stableRankUsers: Double(epoch.userStableRank), ndcg: epoch.heldOut["served"],
                                          trainedUsersNDCG: epoch.heldOut["trained"]))
            }
            (itemFactors, userFactors, lossHistory) = (result.itemFactors, result.userFactors, result.epochs.map { $0.loss })
            var scale = foldInScale ?? 0
            if foldInScale == nil {
                reporter.phase("fold-in", detail: "choosing the fold-in scale that reproduces the trained users' rankings")
                let choice = chooseFoldInScale(users: userFactors, items: itemFactors, matrix, threads: threadCount)
                scale = choice.scale
                reporter.note("fold-in scale \(scale) (top-\(k) agreement with the trained user vectors: " + choice.grid.sorted { $0.key < $1.key }.map { String(format: "%g: %.4f", $0.key, $0.value) }.joined(separator: ", ") + ")")
            }
            hyperparameters = p.dictionary.merging(["fold_in_scale": scale]) { $1 }
            foldIn = servedFoldIn(itemFactors, scale: scale)
        }
        let trainingSeconds = Date().timeIntervalSince(trainStart)

        let table = ItemTable(ids: interactions.items.ids, vectors: itemFactors)
        reporter.phase("neighbours", detail: "\(neighbours) per item")
        let nb = neighbours > 0 ? table.cosineNeighbours(k: neighbours, threads: threadCount) : (indices: [], scores: [])

        // Each training user's feature vector (softmax with features), for evaluation.
        let featureVectors: [[Float]] = tower.flatMap { t in towerFeatures.map { f in f.values.map { (try? t.featureVector($0)) ?? [] } } } ?? []
        let makeScorer = { Evaluation.servingScorer(items: itemFactors, foldIn: foldIn, train: matrix, tower: tower, features: featureVectors) }
        // mf-sgd also has trained user vectors: scoring with them tells training quality apart
        // from the serving encoder's.
        let trainedScorer = kind != .mfSGD ? nil : trainedUserScorer(userFactors, itemFactors)
        var evaluation: [String: Double] = [:], baseline: [String: Double] = [:]
        if test != nil, let held {
            reporter.phase("evaluate", detail: test!)
            evaluation = Evaluation.rank(train: matrix, test: held, k: k, threads: threadCount, makeScorer: makeScorer).dictionary
            baseline = Evaluation.popularity(train: matrix, test: held, k: k).dictionary
            if let trainedScorer {
                // The same users scored with their trained vectors instead of fold-in: tells
                // training quality apart from the serving encoder's.
                evaluation["trained_users_ndcg@\(k)"] = Evaluation.rank(train: matrix, test: held, k: k, threads: threadCount, makeScorer: trainedScorer).ndcg
            }
        }
        if let groups {
            let planted = try cliTry { try PlantedGroups.read(path: groups) }
            let userGroups = PlantedGroups.align(planted.users, to: interactions.users.ids)
            let itemGroups = PlantedGroups.align(planted.items, to: interactions.items.ids)
            evaluation["folding@\(k)"] = Evaluation.foldingRate(train: matrix, userGroups: userGroups, itemGroups: itemGroups, k: k, threads: threadCount, makeScorer: makeScorer)
            evaluation["folding_excess"] = Evaluation.foldingExcess(train: matrix, userGroups: userGroups, itemGroups: itemGroups, threads: threadCount, makeScorer: makeScorer)
            if let trainedScorer {
                // The trained user vectors fold where the served fold-in may not: report both.
                evaluation["trained_users_folding@\(k)"] = Evaluation.foldingRate(train: matrix, userGroups: userGroups, itemGroups: itemGroups, k: k, threads: threadCount, makeScorer: trainedScorer)
                evaluation["trained_users_folding_excess"] = Evaluation.foldingExcess(train: matrix, userGroups: userGroups, itemGroups: itemGroups, threads: threadCount, makeScorer: trainedScorer)
            }
        }
        var attributes: [String: ItemAttributes] = [:]
        if let items {
            let catalog = try cliTry { try ItemCatalog.read(path: items) }
            for id in interactions.items.ids {
                if let entry = catalog[id] { attributes[id] = ItemAttributes(title: entry.title, categories: entry.categories) }
            }
        }

        let modelName = name ?? model
        let version = nextVersion(directory: out, name: modelName)
        let metadata = ModelMetadata(
            name: modelName, kind: model, version: version, createdAt: ISO8601DateFormatter().string(from: Date()),
            hyperparameters: hyperparameters, solver: kind == .wals ? solver : kind == .softmax ? "adam/softmax/\(sampler)" : "\(optimizer)/\(loss)/\(sampler)",
            data: .init(source: data, fingerprint: interactions.fingerprint, users: interactions.users.count, items: interactions.items.count, interactions: interactions.count),
            evaluation: evaluation, popularityBaseline: baseline,
            stableRank: userFactors.rows > 0 ? ["users": Double(stableRank(userFactors)), "items": Double(stableRank(itemFactors))]
                : ["items": Double(stableRank(itemFactors))],
            itemSpectrum: singularValues(itemFactors), trainingSeconds: trainingSeconds, lossHistory: lossHistory, epochs: epochRecords
        )
        let contents = SnapshotContents(
            kind: kind, version: version, createdAt: UInt64(Date().timeIntervalSince1970), items: table, foldIn: foldIn,
            popularity: interactions.itemCounts(), neighbourCount: neighbours > 0 ? neighbours : 0,
            neighbourIndices: nb.indices, neighbourScores: nb.scores, metadata: metadata, attributes: attributes, tower: tower
        )
        reporter.phase("write", detail: out)
        let path = try cliTry { try SnapshotWriter.write(contents, name: modelName, to: out) }
        reporter.done(path: path, version: version, evaluation: evaluation, seconds: Date().timeIntervalSince(started))
    }

    /// Milliseconds since the epoch, and always above every version already in the directory.
    private func nextVersion(directory: String, name: String) -> UInt64 {
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let highest = existing.compactMap { file in
            SnapshotWriter.parse(fileName: file).flatMap { $0.name == name ? $0.version : nil }
        }.max() ?? 0
        return max(now, highest + 1)
    }
}
