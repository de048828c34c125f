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
/// probability `bagDropout`). Without timestamps, example t has the bag of
/// every other item (leave one out). With the query q_t, K negatives j drawn by the sampler
/// (the user's positives excluded), and logits z = q·v + b − log Q:
///
///     L_t = −log [ exp z_target / (exp z_target + Σ_j exp z_j) ]  (+ λ/2 ‖row‖² on the rows touched)
///
/// A mini-batch is up to `batchSize` consecutive examples of one user, so the gradient of
/// the bag means reaches the input embeddings in one pass: item p receives w_p Σ_t g_t / W_t
/// over the batch's examples t whose bag holds p (W_t the bag's total weight, g_t the
/// gradient with respect to the bag mean). Adam on every parameter; sparse rows (input
/// embeddings, item vectors and biases) are updated lazily, only when a batch touches them.
/// Batches run on all threads against shared parameters without locks (Hogwild).
public enum SoftmaxDNN {
    public struct Parameters: Sendable {
        /// d: the item table's and the query's dimension.
        public var factors = 64
        /// e: the width of the input item embeddings.
        public var inputDimensions = 64
        /// Hidden ReLU layers (the output layer to d is added after them).
        public var hidden = [128]
        public var featureDimensions = 8
        public var epochs = 20
        public var learningRate: Float = 0.002
        public var regularization: Float = 0
        public var negatives = 100
        public var sampling: NegativeSampling = .uniform
        public var batchSize = 64
        /// Probability that an example's bag is dropped (features only), so the tower also
        /// learns to answer new users from their features (cold start).
        public var bagDropout: Float = 0
        public var initScale: Float = 0.1
        public var threads = defaultThreadCount
        public var seed: UInt64 = 42
        public init() {}

        public var dictionary: [String: Double] {
            var out: [String: Double] = ["factors": Double(factors), "input_dimensions": Double(inputDimensions), "feature_dimensions": Double(featureDimensions),
                                         "epochs": Double(epochs), "learning_rate": Double(learningRate), "regularization": Double(regularization),
                                         "negatives": Double(negatives), "batch_size": Double(batchSize), "threads": Double(threads), "seed": Double(seed),
                                         "bag_dropout": Double(bagDropout)]
            for (l, h) in hidden.enumerated() { out["hidden_\(l + 1)"] = Double(h) }
            return out
        }
    }

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

    /// A user's features as the tower reads them, resolved once: per feature in schema
    /// order, the embedding row (categorical) or the standardized input (numeric).
    struct ResolvedFeatures {
        var rows: [Int]
        var inputs: [Float]

        init(_ values: [String: FeatureValue], schema: [FeatureSpec]) {
            rows = schema.map { $0.kind == .categorical ? $0.row(values[$0.name]) : 0 }
            inputs = schema.map { $0.kind == .numeric ? $0.input(values[$0.name]) : 0 }
        }
    }

    public struct Epoch: Sendable {
        public var epoch: Int
        public var of: Int
        public var loss: Double
        public var seconds: Double
        public var itemStableRank: Float
        public var inputStableRank: Float
        /// The held-out metric of `evaluate` after the epoch (nil without one).
        public var heldOut: Double?
    }

    public struct Result: Sendable {
        public var tower: Tower
        public var items: Matrix
        public var epochs: [Epoch]
        public init(tower: Tower, items: Matrix, epochs: [Epoch]) {
            self.tower = tower
            self.items = items
            self.epochs = epochs
        }
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

    /// A schema from the features' values: numeric features standardized with their mean and
    /// standard deviation over users, categorical ones with every value seen at least
    /// `minCount` times (rarer values share the "unknown" row).
    public static func schema(_ values: [[String: FeatureValue]], kinds: [(name: String, kind: FeatureSpec.Kind)], dimensions: Int, minCount: Int = 1) -> [FeatureSpec] {
        kinds.map { name, kind in
            switch kind {
            case .numeric:
                let xs = values.compactMap { v -> Double? in if case .number(let x)? = v[name] { return x } else { return nil } }
                let mean = xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
                let variance = xs.isEmpty ? 1 : xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
                return .numeric(name, mean: Float(mean), std: Float(max(variance.squareRoot(), 1e-6)))
            case .categorical:
                var counts: [String: Int] = [:]
                for v in values { if case .string(let s)? = v[name] { counts[s, default: 0] += 1 } }
                return .categorical(name, values: counts.filter { $0.value >= minCount }.keys.sorted(), dimensions: dimensions)
            }
        }
    }

    /// Offsets of every parameter block in one flat array: the input table, the (dense)
    /// feature tables and layers, then the item table and the item biases.
    struct Layout {
        let n: Int, e: Int, d: Int
        let shapes: [(input: Int, output: Int)]
        let features: [FeatureSpec]
        let input: Int
        let featureTables: [Int]
        /// Offset in x of each feature's slice.
        let featureSlots: [Int]
        let weights: [Int]
        let biases: [Int]
        let denseStart: Int, denseEnd: Int
        let items: Int
        let itemBias: Int
        let count: Int

        init(n: Int, e: Int, d: Int, hidden: [Int], features: [FeatureSpec]) {
            self.n = n
            self.e = e
            self.d = d
            self.features = features
            var shapes: [(Int, Int)] = []
            var width = e + features.reduce(0) { $0 + $1.dimensions }
            for size in hidden + [d] {
                shapes.append((width, size))
                width = size
            }
            self.shapes = shapes
            var offset = 0
            input = 0
            offset += n * e
            denseStart = offset
            var tables: [Int] = [], slots: [Int] = []
            var slot = e
            for f in features {
                tables.append(offset)
                offset += f.tableCount
                slots.append(slot)
                slot += f.dimensions
            }
            featureTables = tables
            featureSlots = slots
            var w: [Int] = [], b: [Int] = []
            for s in shapes {
                w.append(offset)
                offset += s.0 * s.1
                b.append(offset)
                offset += s.1
            }
            weights = w
            biases = b
            denseEnd = offset
            items = offset
            offset += n * d
            itemBias = offset
            offset += n
            count = offset
        }

        var inputWidth: Int { shapes[0].input }
    }

    /// `evaluate(model)`, when given, runs after every epoch (untimed); its value is the
    /// epoch's `heldOut`.
    public static func train(_ sequences: [Sequence], ordered: Bool, items n: Int, features: Features?, _ p: Parameters,
                             evaluate: ((Result) -> Double)? = nil, onEpoch: (Epoch) -> Void = { _ in }) -> Result {
        let schema = features?.schema ?? []
        let layout = Layout(n: n, e: p.inputDimensions, d: p.factors, hidden: p.hidden, features: schema)
        var params = initialParameters(layout, p)
        var first = [Float](repeating: 0, count: layout.count)
        var second = [Float](repeating: 0, count: layout.count)
        var itemCounts = [Float](repeating: 0, count: n)
        for s in sequences { for i in s.items { itemCounts[Int(i)] += 1 } }
        let sampler = NegativeSampler(p.sampling, itemCounts: itemCounts)
        // Each user's positives, sorted, for excluding them from the negatives.
        let positives = sequences.map { Array(Set($0.items)).sorted() }
        let resolved = sequences.indices.map { ResolvedFeatures(features?.values[$0] ?? [:], schema: schema) }
        // The mini-batches: (user, first example, end), in chunks of batchSize.
        var batches: [(user: Int32, start: Int32, end: Int32)] = []
        let withFeatures = !schema.isEmpty
        for (u, s) in sequences.enumerated() {
            // Without features, an example with an empty bag only teaches popularity: skip it.
            let firstExample = ordered && !withFeatures ? 1 : 0
            var start = firstExample
            while start < s.items.count {
                let end = min(start + max(p.batchSize, 1), s.items.count)
                if !(s.items.count == 1 && !withFeatures) { batches.append((Int32(u), Int32(start), Int32(end))) }
                start = end
            }
        }
        let workers = max(1, p.threads)
        var rng = SplitMix64(seed: p.seed &+ 11)
        var history: [Epoch] = []
        var step = 0
        for epoch in 1...max(p.epochs, 1) {
            let started = DispatchTime.now().uptimeNanoseconds
            batches.shuffle(using: &rng)
            let epochSeed = rng.next()
            var losses = [Double](repeating: 0, count: workers)
            var examples = [Int](repeating: 0, count: workers)
            let stepBase = step
            params.withUnsafeMutableBufferPointer { P in
                first.withUnsafeMutableBufferPointer { M in
                    second.withUnsafeMutableBufferPointer { S in
                        losses.withUnsafeMutableBufferPointer { lossOut in
                            examples.withUnsafeMutableBufferPointer { exampleOut in
                                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                                    var local = SplitMix64(seed: epochSeed &+ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15)
                                    let w = Worker(layout: layout, p: p, P: P.baseAddress!, M: M.baseAddress!, S: S.baseAddress!)
                                    var total = 0.0, count = 0, t = stepBase
                                    var b = worker
                                    while b < batches.count {
                                        let batch = batches[b]
                                        b += workers
                                        t += 1
                                        let u = Int(batch.user)
                                        total += w.batch(sequences[u], ordered: ordered, range: Int(batch.start)..<Int(batch.end), features: resolved[u],
                                                         positives: positives[u][...], sampler: sampler, rng: &local)
                                        count += Int(batch.end - batch.start)
                                        w.apply(step: t * workers)
                                    }
                                    w.release()
                                    lossOut[worker] = total
                                    exampleOut[worker] = count
                                }
                            }
                        }
                    }
                }
            }
            step += (batches.count + workers - 1) / workers
            let result = unpack(params, layout)
            let record = Epoch(epoch: epoch, of: p.epochs, loss: losses.reduce(0, +) / Double(max(examples.reduce(0, +), 1)),
                               seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                               itemStableRank: stableRank(result.items),
                               inputStableRank: stableRank(Matrix(rows: n, cols: p.inputDimensions, storage: result.tower.inputTable)),
                               heldOut: evaluate?(result))
            history.append(record)
            onEpoch(record)
        }
        var result = unpack(params, layout)
        result.epochs = history
        return result
    }

    static func initialParameters(_ layout: Layout, _ p: Parameters) -> [Float] {
        var params = [Float](repeating: 0, count: layout.count)
        var rng = SplitMix64(seed: p.seed)
        func fill(_ offset: Int, _ count: Int, _ std: Float) {
            for k in 0..<count { params[offset + k] = rng.nextGaussian() * std }
        }
        fill(layout.input, layout.n * layout.e, p.initScale)
        for (f, spec) in layout.features.enumerated() { fill(layout.featureTables[f], spec.tableCount, p.initScale) }
        for (l, shape) in layout.shapes.enumerated() {
            // He initialization for the ReLU layers, Glorot-like for the linear output.
            let gain: Float = l < layout.shapes.count - 1 ? 2 : 1
            fill(layout.weights[l], shape.input * shape.output, (gain / Float(shape.input)).squareRoot())
        }
        fill(layout.items, layout.n * layout.d, p.initScale)
        return params
    }

    static func unpack(_ params: [Float], _ layout: Layout) -> Result {
        func slice(_ offset: Int, _ count: Int) -> [Float] { Array(params[offset..<(offset + count)]) }
        let tower = Tower(
            inputDimensions: layout.e, features: layout.features, layerSizes: layout.shapes.map(\.output),
            inputTable: slice(layout.input, layout.n * layout.e),
            featureTables: layout.features.enumerated().map { slice(layout.featureTables[$0.offset], $0.element.tableCount) },
            weights: layout.shapes.enumerated().map { slice(layout.weights[$0.offset], $0.element.input * $0.element.output) },
            biases: layout.shapes.enumerated().map { slice(layout.biases[$0.offset], $0.element.output) },
            itemBias: slice(layout.itemBias, layout.n))
        return Result(tower: tower, items: Matrix(rows: layout.n, cols: layout.d, storage: slice(layout.items, layout.n * layout.d)), epochs: [])
    }

    /// The trainer's own forward pass (flat parameters, as used in training) for a bag and
    /// feature values: the query vector. Tests compare it with the served `Tower.encode`.
    public static func query(_ result: Result, items: [Int32], weights: [Float], features: [String: FeatureValue]) -> [Float] {
        let tower = result.tower
        let layout = Layout(n: result.items.rows, e: tower.inputDimensions, d: result.items.cols, hidden: Array(tower.layerSizes.dropLast()), features: tower.features)
        var params = tower.parameterArrays.dropLast().flatMap { $0 } + result.items.storage + tower.itemBias
        var p = Parameters()
        p.inputDimensions = tower.inputDimensions
        p.factors = result.items.cols
        p.hidden = Array(tower.layerSizes.dropLast())
        var q = [Float](repeating: 0, count: layout.d)
        params.withUnsafeMutableBufferPointer { P in
            let w = Worker(layout: layout, p: p, P: P.baseAddress!, M: P.baseAddress!, S: P.baseAddress!)
            var bag = [Float](repeating: 0, count: layout.e)
            bag.withUnsafeMutableBufferPointer { MeanPooling.encode(items: w.P + layout.input, d: layout.e, indices: items, weights: weights, out: $0.baseAddress!) }
            w.forward(bag: bag, features: ResolvedFeatures(features, schema: tower.features))
            for k in 0..<layout.d { q[k] = w.activations[layout.shapes.count][k] }
            w.release()
        }
        return q
    }

    /// One thread's scratch: activations, a gradient buffer as large as the parameters, and
    /// the sparse rows the current batch touched.
    final class Worker {
        let layout: Layout
        let p: Parameters
        let P: UnsafeMutablePointer<Float>
        let M: UnsafeMutablePointer<Float>
        let S: UnsafeMutablePointer<Float>
        let grad: UnsafeMutablePointer<Float>
        /// activations[0] = x, activations[l + 1] = output of layer l (after ReLU but the last).
        let activations: [UnsafeMutablePointer<Float>]
        /// deltas[l] = dL/d(activations[l]).
        let deltas: [UnsafeMutablePointer<Float>]
        var touchedInput: [Int32] = []
        var touchedItems: [Int32] = []
        var markedInput: [Bool]
        var markedItems: [Bool]
        /// g_t / W_t per example of the batch (e floats each).
        var bagGradients: [Float]
        var candidates: [Int] = []
        var logits: [Float] = []

        init(layout: Layout, p: Parameters, P: UnsafeMutablePointer<Float>, M: UnsafeMutablePointer<Float>, S: UnsafeMutablePointer<Float>) {
            self.layout = layout
            self.p = p
            self.P = P
            self.M = M
            self.S = S
            grad = .allocate(capacity: layout.count)
            grad.initialize(repeating: 0, count: layout.count)
            let widths = [layout.inputWidth] + layout.shapes.map(\.output)
            activations = widths.map { w in
                let a = UnsafeMutablePointer<Float>.allocate(capacity: w)
                a.initialize(repeating: 0, count: w)
                return a
            }
            deltas = widths.map { w in
                let a = UnsafeMutablePointer<Float>.allocate(capacity: w)
                a.initialize(repeating: 0, count: w)
                return a
            }
            markedInput = [Bool](repeating: false, count: layout.n)
            markedItems = [Bool](repeating: false, count: layout.n)
            bagGradients = [Float](repeating: 0, count: max(p.batchSize, 1) * layout.e)
        }

        func release() {
            grad.deallocate()
            for a in activations + deltas { a.deallocate() }
        }

        /// x = [bag mean; features] through the layers; activations hold every layer's output.
        func forward(bag: [Float], features: ResolvedFeatures) {
            let e = layout.e
            for k in 0..<e { activations[0][k] = bag[k] }
            for (f, spec) in layout.features.enumerated() {
                let slot = layout.featureSlots[f]
                switch spec.kind {
                case .numeric:
                    activations[0][slot] = features.inputs[f]
                case .categorical:
                    let table = P + layout.featureTables[f] + features.rows[f] * spec.dimensions
                    for k in 0..<spec.dimensions { activations[0][slot + k] = table[k] }
                }
            }
            for (l, shape) in layout.shapes.enumerated() {
                let w = P + layout.weights[l], b = P + layout.biases[l]
                let x = activations[l], y = activations[l + 1]
                for r in 0..<shape.output {
                    var v = b[r] + dot(w + r * shape.input, x, shape.input)
                    if l < layout.shapes.count - 1 && v < 0 { v = 0 }
                    y[r] = v
                }
            }
        }

        /// Backpropagates dL/dq (in deltas[last]) through the layers into `grad`; leaves
        /// dL/dx in deltas[0].
        func backward() {
            for l in stride(from: layout.shapes.count - 1, through: 0, by: -1) {
                let shape = layout.shapes[l]
                let w = P + layout.weights[l], gw = grad + layout.weights[l], gb = grad + layout.biases[l]
                let delta = deltas[l + 1], x = activations[l], dx = deltas[l]
                dx.update(repeating: 0, count: shape.input)
                for r in 0..<shape.output where delta[r] != 0 {
                    gb[r] += delta[r]
                    axpy(delta[r], x, gw + r * shape.input, shape.input)
                    axpy(delta[r], w + r * shape.input, dx, shape.input)
                }
                // Through the ReLU of the layer below (its output is x).
                if l > 0 { for k in 0..<shape.input where x[k] <= 0 { dx[k] = 0 } }
            }
        }

        func touchItem(_ i: Int) {
            if !markedItems[i] { markedItems[i] = true; touchedItems.append(Int32(i)) }
        }

        func touchInput(_ i: Int) {
            if !markedInput[i] { markedInput[i] = true; touchedInput.append(Int32(i)) }
        }

        /// Forward and backward over examples `range` of a user's sequence; returns their loss.
        func batch(_ s: Sequence, ordered: Bool, range: Range<Int>, features: ResolvedFeatures, positives: ArraySlice<Int32>,
                   sampler: NegativeSampler, rng: inout SplitMix64) -> Double {
            let e = layout.e, d = layout.d, n = s.items.count
            var bag = [Float](repeating: 0, count: e)
            // Prefix sums up to the batch's first example (ordered), or the whole sum (leave one out).
            var sum = [Float](repeating: 0, count: e)
            var weightSum: Float = 0
            let upTo = ordered ? range.lowerBound : n
            for k in 0..<upTo {
                axpy(s.weights[k], P + layout.input + Int(s.items[k]) * e, &sum, e)
                weightSum += s.weights[k]
            }
            var loss = 0.0
            for t in range {
                let target = Int(s.items[t])
                var bagWeight: Float
                if p.bagDropout > 0 && rng.nextFloat() < p.bagDropout {
                    bagWeight = 0
                    bag.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                } else if ordered {
                    bagWeight = weightSum
                    for k in 0..<e { bag[k] = bagWeight > 0 ? sum[k] / bagWeight : 0 }
                } else {
                    bagWeight = weightSum - s.weights[t]
                    let row = P + layout.input + target * e
                    for k in 0..<e { bag[k] = bagWeight > 0 ? (sum[k] - s.weights[t] * row[k]) / bagWeight : 0 }
                }
                forward(bag: bag, features: features)
                // Sampled softmax over the target and K negatives.
                candidates.removeAll(keepingCapacity: true)
                candidates.append(target)
                for _ in 0..<max(p.negatives, 1) {
                    guard let j = sampler.sample(positives: positives, rng: &rng, score: { _ in 0 }) else { break }
                    candidates.append(j)
                }
                logits.removeAll(keepingCapacity: true)
                let q = activations[layout.shapes.count]
                var top = -Float.infinity
                for c in candidates {
                    let z = dot(q, P + layout.items + c * d, d) + P[layout.itemBias + c] - sampler.logQ[c]
                    logits.append(z)
                    top = max(top, z)
                }
                var partition: Float = 0
                for k in 0..<logits.count {
                    logits[k] = expf(logits[k] - top)
                    partition += logits[k]
                }
                loss += Double(-logf(max(logits[0] / partition, 1e-30)))
                // dL/dz = softmax − e_target; dq = Σ dz v; dv = dz q; db = dz.
                let dq = deltas[layout.shapes.count]
                dq.update(repeating: 0, count: d)
                for (k, c) in candidates.enumerated() {
                    let dz = logits[k] / partition - (k == 0 ? 1 : 0)
                    axpy(dz, P + layout.items + c * d, dq, d)
                    axpy(dz, q, grad + layout.items + c * d, d)
                    grad[layout.itemBias + c] += dz
                    touchItem(c)
                }
                backward()
                // dL/dx → the categorical feature rows and, divided by W_t, the bag items.
                for (f, spec) in layout.features.enumerated() where spec.kind == .categorical {
                    let slot = layout.featureSlots[f]
                    axpy(1, deltas[0] + slot, grad + layout.featureTables[f] + features.rows[f] * spec.dimensions, spec.dimensions)
                }
                let slot = (t - range.lowerBound) * e
                for k in 0..<e { bagGradients[slot + k] = bagWeight > 0 ? deltas[0][k] / bagWeight : 0 }
                if ordered {
                    axpy(s.weights[t], P + layout.input + target * e, &sum, e)
                    weightSum += s.weights[t]
                }
            }
            // Item p of the sequence gets w_p Σ over the batch's examples whose bag holds p.
            var acc = [Float](repeating: 0, count: e)
            if ordered {
                // Bags are prefixes: example t holds p < t. Walk p downwards, adding G_{p+1}.
                for pos in stride(from: range.upperBound - 2, through: 0, by: -1) {
                    let t = pos + 1
                    if t >= range.lowerBound && t < range.upperBound {
                        bagGradients.withUnsafeBufferPointer { axpy(1, $0.baseAddress! + (t - range.lowerBound) * e, &acc, e) }
                    }
                    let item = Int(s.items[pos])
                    axpy(s.weights[pos], acc, grad + layout.input + item * e, e)
                    touchInput(item)
                }
            } else {
                for t in range { bagGradients.withUnsafeBufferPointer { axpy(1, $0.baseAddress! + (t - range.lowerBound) * e, &acc, e) } }
                for pos in 0..<n {
                    let item = Int(s.items[pos])
                    axpy(s.weights[pos], acc, grad + layout.input + item * e, e)
                    if range.contains(pos) {
                        bagGradients.withUnsafeBufferPointer { axpy(-s.weights[pos], $0.baseAddress! + (pos - range.lowerBound) * e, grad + layout.input + item * e, e) }
                    }
                    touchInput(item)
                }
            }
            return loss
        }

        /// Adam on the dense block and the touched rows, then clears their gradients.
        func apply(step: Int) {
            let b1: Float = 0.9, b2: Float = 0.999
            let t = Float(max(step, 1))
            let c1 = 1 - powf(b1, t), c2 = 1 - powf(b2, t)
            let lr = p.learningRate * c2.squareRoot() / c1
            let scale = 1 / Float(max(p.batchSize, 1))
            @inline(__always) func adam(_ offset: Int, _ count: Int, decay: Float) {
                let x = P + offset, g = grad + offset, m = M + offset, v = S + offset
                for k in 0..<count {
                    let gk = g[k] * scale + decay * x[k]
                    m[k] = b1 * m[k] + (1 - b1) * gk
                    v[k] = b2 * v[k] + (1 - b2) * gk * gk
                    x[k] -= lr * m[k] / (v[k].squareRoot() + 1e-8)
                    g[k] = 0
                }
            }
            adam(layout.denseStart, layout.denseEnd - layout.denseStart, decay: 0)
            for i in touchedInput {
                adam(layout.input + Int(i) * layout.e, layout.e, decay: p.regularization)
                markedInput[Int(i)] = false
            }
            for i in touchedItems {
                adam(layout.items + Int(i) * layout.d, layout.d, decay: p.regularization)
                adam(layout.itemBias + Int(i), 1, decay: 0)
                markedItems[Int(i)] = false
            }
            touchedInput.removeAll(keepingCapacity: true)
            touchedItems.removeAll(keepingCapacity: true)
        }
    }
}

extension SoftmaxDNN {
    /// The training users' feature values from a users file. `selection` lists the columns
    /// to use, each optionally typed (`age:numeric,gender,occupation:categorical`); nil takes
    /// every column. A column's type is otherwise RecBole's (`float` numeric, `token`
    /// categorical) or, without one, numeric when every value parses as a number.
    public static func features(_ file: UserFeatureFile, path: String, selection: String?, users: IDMap, dimensions: Int, minCount: Int = 1) throws(DataError) -> Features {
        var chosen: [(column: Int, kind: FeatureSpec.Kind)] = []
        let requests: [(name: String, kind: String?)] = selection.map {
            $0.split(separator: ",").map { part in
                let pieces = part.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                return (pieces[0].lowercased(), pieces.count > 1 ? pieces[1] : nil)
            }
        } ?? file.columns.map { ($0, nil) }
        for (name, explicit) in requests {
            guard let column = file.columns.firstIndex(of: name) else {
                throw .badHeader(path: path, reason: "no column '\(name)' (columns: \(file.columns.joined(separator: ", ")))")
            }
            let kind: FeatureSpec.Kind
            switch explicit ?? file.types[column] {
            case "numeric"?, "float"?: kind = .numeric
            case "categorical"?, "token"?: kind = .categorical
            case nil: kind = file.rows.values.allSatisfy({ $0[column].isEmpty || Double($0[column]) != nil }) ? .numeric : .categorical
            case let other?: throw .badHeader(path: path, reason: "feature '\(name)': type '\(other)' is not numeric or categorical")
            }
            chosen.append((column, kind))
        }
        let values: [[String: FeatureValue]] = users.ids.map { id in
            guard let row = file.rows[id] else { return [:] }
            var out: [String: FeatureValue] = [:]
            for (column, kind) in chosen where !row[column].isEmpty {
                let name = file.columns[column]
                switch kind {
                case .numeric: if let x = Double(row[column]) { out[name] = .number(x) }
                case .categorical: out[name] = .string(row[column])
                }
            }
            return out
        }
        let schema = Self.schema(values, kinds: chosen.map { (file.columns[$0.column], $0.kind) }, dimensions: dimensions, minCount: minCount)
        return Features(schema: schema, values: values)
    }
}
