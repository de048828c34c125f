import Dispatch
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels

/// The softmax DNN (after Covington et al., RecSys 2016): a query tower over the mean of the
/// input embeddings of a user's items and the user's features (see `Tower`), an output layer
/// that is the item table plus a per-item bias, trained with sampled softmax.
///
/// Examples: for a user with items s_0 … s_{n−1} ordered by time, example t has target s_t
/// and input bag s_0 … s_{t−1} (the next item in time; the first example has an empty bag
/// and, with features, teaches the cold start, as does dropping an example's bag with
/// probability `bag_dropout`). Without timestamps, example t has the bag of every other item
/// (leave one out). With the query q_t, K negatives j drawn by the sampler (the user's
/// positives excluded), and logits z = q·v + b − log Q:
///
///     L_t = −log [ exp z_target / (exp z_target + Σ_j exp z_j) ]  (+ λ/2 ‖row‖² on the rows touched)
///
/// A mini-batch is up to `batch_size` consecutive examples of one user, so the gradient of
/// the bag means reaches the input embeddings in one pass: item p receives w_p Σ_t g_t / W_t
/// over the batch's examples t whose bag holds p (W_t the bag's total weight, g_t the
/// gradient with respect to the bag mean). Adam on every parameter; sparse rows (input
/// embeddings, item vectors and biases) are updated lazily, only when a batch touches them.
/// Batches run on all threads against shared parameters without locks (Hogwild). The
/// forward and backward passes are the tower's own (`TowerPass`), the ones serving runs.
public enum SoftmaxDNN {
    /// A user's interactions in training order.
    public struct Sequence: Sendable {
        public var items: [Int32]
        public var weights: [Float]
        public init(items: [Int32], weights: [Float]) {
            self.items = items
            self.weights = weights
        }
    }

    /// What the trainer knows of the users' query features.
    public struct Features: Sendable {
        public var schema: [FeatureSpec]
        /// Per user (training index), the values from the features file (absent: none known).
        public var values: [[String: FeatureValue]]
        public init(schema: [FeatureSpec], values: [[String: FeatureValue]]) {
            self.schema = schema
            self.values = values
        }
    }

    /// Where the trainer's parameters live in one flat array: the tower's (its layout),
    /// then the n × d item table, then the n item biases.
    struct Layout {
        let tower: TowerLayout
        let n: Int, e: Int, d: Int
        let items: Int
        let itemBias: Int
        let count: Int

        init(n: Int, e: Int, d: Int, hidden: [Int], features: [FeatureSpec]) {
            tower = TowerLayout(items: n, inputDimensions: e, hidden: hidden, outputDimensions: d, features: features)
            self.n = n
            self.e = e
            self.d = d
            items = tower.count
            itemBias = items + n * d
            count = itemBias + n
        }
    }

    public struct Result: Sendable {
        public var tower: Tower
        public var items: Matrix
        public var epochs: [EpochRecord]
    }

    /// Each user's (item, weight) in time order (file order without timestamps); `ordered`
    /// tells whether timestamps exist.
    public static func sequences(_ data: Interactions) -> (sequences: [Sequence], ordered: Bool) {
        var positions = [[Int]](repeating: [], count: data.users.count)
        for k in 0..<data.count { positions[Int(data.userIndex[k])].append(k) }
        let sequences = positions.map { rows -> Sequence in
            let ordered = data.timestamps.map { t in rows.sorted { t[$0] < t[$1] || (t[$0] == t[$1] && $0 < $1) } } ?? rows
            return Sequence(items: ordered.map { data.itemIndex[$0] }, weights: ordered.map { data.weights[$0] })
        }
        return (sequences, data.timestamps != nil)
    }

    /// `evaluate(result)`, when given, runs after every epoch (untimed); its value goes into
    /// the epoch's record.
    public static func train(_ sequences: [Sequence], ordered: Bool, items n: Int, features: Features?, _ p: SoftmaxParameters,
                             threads: Int = defaultThreadCount, seed: UInt64 = 42,
                             evaluate: ((Result) -> Double)? = nil, onEpoch: (EpochRecord) -> Void = { _ in }) -> Result {
        let schema = features?.schema ?? []
        let layout = Layout(n: n, e: p.inputWidth, d: p.factors, hidden: p.hidden, features: schema)
        var params = initialParameters(layout, p, seed: seed)
        var first = [Float](repeating: 0, count: layout.count)
        var second = [Float](repeating: 0, count: layout.count)
        var itemCounts = [Float](repeating: 0, count: n)
        for s in sequences { for i in s.items { itemCounts[Int(i)] += 1 } }
        let sampler = NegativeSampler(p.sampler == .popularity ? .popularity(beta: p.beta) : .uniform, itemCounts: itemCounts)
        // Each user's positives, sorted, for excluding them from the negatives.
        let positives = sequences.map { Array(Set($0.items)).sorted() }
        let resolved = sequences.indices.map { FeatureInput(features?.values[$0] ?? [:], schema: schema) }
        // The mini-batches: (user, first example, end), in chunks of batchSize.
        var batches: [(user: Int32, start: Int32, end: Int32)] = []
        let withFeatures = !schema.isEmpty
        for (u, s) in sequences.enumerated() {
            // Without features, an example with an empty bag only teaches popularity: skip it.
            var start = ordered && !withFeatures ? 1 : 0
            while start < s.items.count {
                let end = min(start + max(p.batchSize, 1), s.items.count)
                if !(s.items.count == 1 && !withFeatures) { batches.append((Int32(u), Int32(start), Int32(end))) }
                start = end
            }
        }
        var rng = SplitMix64(seed: seed &+ 11)
        var history: [EpochRecord] = []
        var step = 0
        for epoch in 1...max(p.epochs, 1) {
            let started = DispatchTime.now().uptimeNanoseconds
            batches.shuffle(using: &rng)
            let epochSeed = rng.next()
            let stepBase = step
            let workers = max(1, threads)
            let total = params.withUnsafeMutableBufferPointer { P in
                first.withUnsafeMutableBufferPointer { M in
                    second.withUnsafeMutableBufferPointer { S in
                        hogwildEpoch(count: batches.count, workers: workers, seed: epochSeed) { _, range, local in
                            let w = Batch(layout: layout, p: p, P: P.baseAddress!, M: M.baseAddress!, S: S.baseAddress!)
                            var loss = 0.0, count = 0, t = stepBase
                            for b in range {
                                let batch = batches[b]
                                t += 1
                                let u = Int(batch.user)
                                loss += w.run(sequences[u], ordered: ordered, range: Int(batch.start)..<Int(batch.end), features: resolved[u],
                                              positives: positives[u][...], sampler: sampler, rng: &local)
                                count += Int(batch.end - batch.start)
                                w.apply(step: t * workers)
                            }
                            w.release()
                            return (loss, count)
                        }
                    }
                }
            }
            step += (batches.count + workers - 1) / workers
            let result = unpack(params, layout)
            let record = EpochRecord(epoch: epoch, loss: total.loss / Double(max(total.examples, 1)),
                                     seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                                     stableRankItems: Double(stableRank(result.items)), stableRankUsers: nil, ndcg: evaluate?(result))
            history.append(record)
            onEpoch(record)
        }
        var result = unpack(params, layout)
        result.epochs = history
        return result
    }

    static func initialParameters(_ layout: Layout, _ p: SoftmaxParameters, seed: UInt64) -> [Float] {
        var params = [Float](repeating: 0, count: layout.count)
        var rng = SplitMix64(seed: seed)
        func fill(_ offset: Int, _ count: Int, _ std: Float) {
            for k in 0..<count { params[offset + k] = rng.nextGaussian() * std }
        }
        let tower = layout.tower
        fill(tower.inputTable, layout.n * layout.e, p.initScale)
        for (f, spec) in tower.features.enumerated() { fill(tower.featureTables[f], spec.tableCount, p.initScale) }
        for (l, shape) in tower.shapes.enumerated() {
            // He initialization for the ReLU layers, Glorot-like for the linear output.
            let gain: Float = l < tower.shapes.count - 1 ? 2 : 1
            fill(tower.weights[l], shape.input * shape.output, (gain / Float(shape.input)).squareRoot())
        }
        fill(layout.items, layout.n * layout.d, p.initScale)
        return params
    }

    static func unpack(_ params: [Float], _ layout: Layout) -> Result {
        let tower = Tower(layout: layout.tower, parameters: PinnedArray(Array(params[0..<layout.items])),
                          itemBias: PinnedArray(Array(params[layout.itemBias..<layout.count])))
        return Result(tower: tower, items: Matrix(rows: layout.n, cols: layout.d, storage: Array(params[layout.items..<layout.itemBias])), epochs: [])
    }
}

/// The softmax DNN as a `Trainer`: served by a forward pass of its tower.
struct SoftmaxTrainer: Trainer {
    let p: SoftmaxParameters
    var epochs: Int { p.epochs }

    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel {
        let (sequences, ordered) = SoftmaxDNN.sequences(data.interactions)
        var features: SoftmaxDNN.Features?
        if let path = p.userFeatures {
            let file = try UserFeatureFile.read(path: path)
            features = try SoftmaxDNN.features(file, path: path, selection: p.features, users: data.interactions.users, dimensions: p.featureDimensions)
            context.note("features: " + features!.schema.map { "\($0.name) (\($0.kind.rawValue)\($0.kind == .categorical ? ", \($0.values.count) values" : ""))" }.joined(separator: ", "))
        }
        context.phase(.train, "softmax \(sequences.count) users x \(data.itemCount) items, layers \(p.hidden.map(String.init).joined(separator: "-"))-\(p.factors), "
                      + "\(p.negatives) \(p.sampler.rawValue) negatives, \(ordered ? "next item in time" : "leave one out")")
        let evaluate: ((SoftmaxDNN.Result) -> Double)? = context.evaluate.map { evaluate in
            { result in evaluate(TrainedModel(items: result.items, encoder: .tower(result.tower), epochs: [], solver: "").model(data, kind: .softmax), nil, features?.values).served }
        }
        let result = SoftmaxDNN.train(sequences, ordered: ordered, items: data.itemCount, features: features, p, threads: context.threads, seed: context.seed,
                                      evaluate: evaluate, onEpoch: context.onEpoch)
        var trained = TrainedModel(items: result.items, encoder: .tower(result.tower), epochs: result.epochs, solver: "adam/softmax/\(p.sampler.rawValue)")
        trained.userFeatures = features?.values
        return trained
    }
}

extension SoftmaxParameters: TrainerRecipe {
    public func makeTrainer() -> any Trainer { SoftmaxTrainer(p: self) }
}
