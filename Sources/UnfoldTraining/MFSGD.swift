import Dispatch
import Foundation
import UnfoldData
import UnfoldMath

/// Matrix factorization trained by stochastic gradient descent with negative sampling.
///
/// For each observed (u, i), with negatives j drawn by a `NegativeSampler`:
/// - BPR:             L = −log σ(u·v_i − u·v_j)
/// - BCE:             L = −log σ(u·v_i) − Σ_j log(1 − σ(u·v_j))
/// - sampled softmax: L = −log [exp(u·v_i − log q_i) / (exp(u·v_i − log q_i) + Σ_j exp(u·v_j − log q_j))]
/// plus λ/2 (‖u‖² + ‖v_i‖² + ‖v_j‖²) on the rows an example touches. With `.none` sampling
/// (positives only) the loss is BCE on the positives alone, the setting that folds.
///
/// Threads update shared tables without locks (Hogwild; Recht et al. 2011): examples
/// rarely touch the same rows at once, and SGD tolerates the rare overlap. `batchSize` > 1
/// accumulates a thread's gradients over that many positives before applying them
/// (mini-batch SGD).
public enum MFSGD {
    public enum Loss: String, Sendable, CaseIterable { case bpr, bce, softmax }
    public enum Optimizer: String, Sendable, CaseIterable { case sgd, adagrad, adam }

    public struct Parameters: Sendable {
        public var factors = 64
        public var epochs = 20
        public var learningRate: Float = 0.05
        public var regularization: Float = 0.0001
        public var loss: Loss = .bpr
        public var sampling: NegativeSampling = .uniform
        public var negatives = 1
        public var batchSize = 1
        public var optimizer: Optimizer = .adagrad
        public var initScale: Float = 0.1
        /// Weight γ of the gravity regularizer (0: off); see `Regularizers.gravity`.
        public var gravity: Float = 0
        /// Weight γ of the stable-rank regularizer on each mini-batch's unique rows (0: off),
        /// applied in the first `stableRankEpochs` epochs only (a warm start); needs batchSize > 1.
        public var stableRankWeight: Float = 0
        public var stableRankEpochs = 0
        public var threads = defaultThreadCount
        public var seed: UInt64 = 42
        public init() {}

        public var dictionary: [String: Double] {
            ["factors": Double(factors), "epochs": Double(epochs), "learning_rate": Double(learningRate), "regularization": Double(regularization),
             "negatives": Double(negatives), "batch_size": Double(batchSize), "threads": Double(threads), "seed": Double(seed),
             "gravity": Double(gravity), "stable_rank_weight": Double(stableRankWeight), "stable_rank_epochs": Double(stableRankEpochs)]
        }
    }

    public struct Epoch: Sendable {
        public var epoch: Int
        public var of: Int
        public var loss: Double
        public var seconds: Double
        public var userStableRank: Float
        public var itemStableRank: Float
        /// G(U, V) after the epoch.
        public var gravity: Double
        /// The held-out metrics of `evaluate` after the epoch (empty without one).
        public var heldOut: [String: Double] = [:]
    }

    public struct Result: Sendable {
        public var userFactors: Matrix
        public var itemFactors: Matrix
        public var epochs: [Epoch]
    }

    /// `evaluate(users, items)`, when given, runs after every epoch (untimed); its value is
    /// the epoch's `heldOut`.
    public static func train(_ userItems: CSRMatrix, _ p: Parameters, evaluate: ((Matrix, Matrix) -> [String: Double])? = nil, onEpoch: (Epoch) -> Void = { _ in }) -> Result {
        let d = p.factors
        var users = Matrix.random(rows: userItems.rows, cols: d, scale: p.initScale / Float(d).squareRoot(), seed: p.seed)
        var items = Matrix.random(rows: userItems.cols, cols: d, scale: p.initScale / Float(d).squareRoot(), seed: p.seed &+ 1)
        var itemCounts = [Float](repeating: 0, count: userItems.cols)
        for i in userItems.indices { itemCounts[Int(i)] += 1 }
        let sampler = NegativeSampler(p.sampling, itemCounts: itemCounts)
        var userAccumulator = [Float](repeating: 0, count: users.storage.count)
        var itemAccumulator = [Float](repeating: 0, count: items.storage.count)
        var userSecond = [Float](repeating: 0, count: p.optimizer == .adam ? users.storage.count : 0)
        var itemSecond = [Float](repeating: 0, count: p.optimizer == .adam ? items.storage.count : 0)
        // Every observed (u, i) as a flat list of CSR positions.
        var rowOf = [Int32](repeating: 0, count: userItems.nonZeroCount)
        for u in 0..<userItems.rows { for k in userItems.rowRange(u) { rowOf[k] = Int32(u) } }
        var order = Array(0..<userItems.nonZeroCount)
        // Gravity: the objective is the mean example loss plus γ·G. Per-example steps use the
        // example's own loss (N times its share of the mean), so each row gets N·γ·∂G/∂u per
        // epoch, spread over its examples: N · γ · 2/(|U||V|) · Gram · u / count.
        let userCounts = (0..<userItems.rows).map { Float(max(userItems.rowCount($0), 1)) }
        let examples = Float(max(userItems.nonZeroCount, 1))
        let gravityScale = p.gravity > 0 ? examples * p.gravity * 2 / (Float(max(userItems.rows, 1)) * Float(max(userItems.cols, 1))) : 0
        var history: [Epoch] = []
        var rng = SplitMix64(seed: p.seed &+ 7)
        let workers = max(1, p.threads)

        for epoch in 1...max(p.epochs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            order.shuffle(using: &rng)
            var losses = [Double](repeating: 0, count: workers)
            let epochSeed = rng.next()
            // Grams of the other side, fixed for the epoch (stale by at most one epoch).
            let userGram = gravityScale > 0 ? gram(users, threads: workers) : []
            let itemGram = gravityScale > 0 ? gram(items, threads: workers) : []
            users.storage.withUnsafeMutableBufferPointer { U in
                items.storage.withUnsafeMutableBufferPointer { V in
                    userAccumulator.withUnsafeMutableBufferPointer { GU in
                        itemAccumulator.withUnsafeMutableBufferPointer { GV in
                          userSecond.withUnsafeMutableBufferPointer { SU in
                            itemSecond.withUnsafeMutableBufferPointer { SV in
                            losses.withUnsafeMutableBufferPointer { lossOut in
                                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                                    var local = SplitMix64(seed: epochSeed &+ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15)
                                    let tables = Tables(U: U.baseAddress!, V: V.baseAddress!, GU: GU.baseAddress!, GV: GV.baseAddress!,
                                                        SU: SU.baseAddress ?? GU.baseAddress!, SV: SV.baseAddress ?? GV.baseAddress!, d: d)
                                    var step = Step(p: p, tables: tables)
                                    step.gravityScale = gravityScale
                                    step.userGram = itemGram
                                    step.itemGram = userGram
                                    step.userCounts = userCounts
                                    step.itemCounts = itemCounts
                                    step.stableRankWeight = epoch <= p.stableRankEpochs ? p.stableRankWeight : 0
                                    step.adamStep = Float(epoch)
                                    var total = 0.0
                                    let begin = worker * order.count / workers, end = (worker + 1) * order.count / workers
                                    var inBatch = 0
                                    // In-batch negatives: the items of the current mini-batch.
                                    var pool: [Int32] = []
                                    for position in begin..<end {
                                        if p.sampling == .inBatch && inBatch == 0 {
                                            pool.removeAll(keepingCapacity: true)
                                            for q in position..<min(position + p.batchSize, end) { pool.append(userItems.indices[order[q]]) }
                                        }
                                        // Rows are touched in random order: fetch the rows of the
                                        // example a few positions ahead while this one computes.
                                        if position + 4 < end {
                                            let ahead = order[position + 4]
                                            unfold_prefetch_range(U.baseAddress! + Int(rowOf[ahead]) * d, d * 4)
                                            unfold_prefetch_range(V.baseAddress! + Int(userItems.indices[ahead]) * d, d * 4)
                                        }
                                        let k = order[position]
                                        let u = Int(rowOf[k]), i = Int(userItems.indices[k])
                                        let positives = userItems.indices[userItems.rowRange(u)]
                                        total += pool.withUnsafeBufferPointer { step.example(user: u, item: i, positives: positives, sampler: sampler, batch: $0, rng: &local) }
                                        inBatch += 1
                                        if inBatch >= p.batchSize {
                                            step.flush()
                                            inBatch = 0
                                        }
                                    }
                                    step.flush()
                                    step.release()
                                    lossOut[worker] = total
                                }
                            }
                            }
                          }
                        }
                    }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let record = Epoch(epoch: epoch, of: p.epochs, loss: losses.reduce(0, +) / Double(max(order.count, 1)), seconds: seconds,
                               userStableRank: stableRank(users), itemStableRank: stableRank(items),
                               gravity: Regularizers.gravity(users: users, items: items), heldOut: evaluate?(users, items) ?? [:])
            history.append(record)
            onEpoch(record)
        }
        return Result(userFactors: users, itemFactors: items, epochs: history)
    }

    struct Tables {
        let U: UnsafeMutablePointer<Float>
        let V: UnsafeMutablePointer<Float>
        /// Adagrad: Σg². Adam: the first moment m.
        let GU: UnsafeMutablePointer<Float>
        let GV: UnsafeMutablePointer<Float>
        /// Adam: the second moment v (unused otherwise).
        let SU: UnsafeMutablePointer<Float>
        let SV: UnsafeMutablePointer<Float>
        let d: Int
    }

    /// A parameter row with its optimizer state: Adagrad's Σg² (or Adam's m) and Adam's v.
    struct Row {
        let values: UnsafeMutablePointer<Float>
        let first: UnsafeMutablePointer<Float>
        let second: UnsafeMutablePointer<Float>
    }

    /// One thread's gradient steps, on scratch buffers allocated once per thread; with a
    /// batch size above 1 the gradients wait in `pending` until `flush`.
    struct Step {
        let p: Parameters
        let t: Tables
        var pending: [(row: Row, gradient: [Float])] = []
        let dUser: UnsafeMutablePointer<Float>
        let gItem: UnsafeMutablePointer<Float>
        let gNeg: UnsafeMutablePointer<Float>
        var negatives: [Int]
        var negScores: [Float]
        var dNegs: [Float]
        var gravityScale: Float = 0
        /// VᵀV for user rows and UᵀU for item rows (gravity only).
        var userGram: [Float] = []
        var itemGram: [Float] = []
        var userCounts: [Float] = []
        var itemCounts: [Float] = []
        var stableRankWeight: Float = 0
        /// Adam's bias-correction step, per epoch (lazy Adam: rows are corrected by epoch, not by touch).
        var adamStep: Float = 1
        /// The distinct user and item rows of the current mini-batch (stable-rank regularizer).
        var batchUsers: [Int: Row] = [:]
        var batchItems: [Int: Row] = [:]

        init(p: Parameters, tables: Tables) {
            self.p = p
            self.t = tables
            dUser = .allocate(capacity: tables.d)
            gItem = .allocate(capacity: tables.d)
            gNeg = .allocate(capacity: tables.d)
            negatives = []
            negatives.reserveCapacity(max(p.negatives, 1))
            negScores = []
            negScores.reserveCapacity(max(p.negatives, 1))
            dNegs = []
            dNegs.reserveCapacity(max(p.negatives, 1))
        }

        func release() {
            dUser.deallocate()
            gItem.deallocate()
            gNeg.deallocate()
        }

        func userRow(_ u: Int) -> Row { Row(values: t.U + u * t.d, first: t.GU + u * t.d, second: t.SU + (p.optimizer == .adam ? u * t.d : 0)) }
        func itemRow(_ i: Int) -> Row { Row(values: t.V + i * t.d, first: t.GV + i * t.d, second: t.SV + (p.optimizer == .adam ? i * t.d : 0)) }

        /// Applies (or, in mini-batch mode, queues) a gradient to a row.
        mutating func apply(_ target: Row, _ g: UnsafeMutablePointer<Float>) {
            if p.batchSize > 1 {
                pending.append((target, Array(UnsafeBufferPointer(start: g, count: t.d))))
                return
            }
            update(target, g)
        }

        @inline(__always)
        func update(_ target: Row, _ g: UnsafePointer<Float>) {
            let row = target.values, accumulator = target.first
            switch p.optimizer {
            case .adam:
                // m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²; x −= η m̂ / (√v̂ + ε), with the bias
                // corrections of step t = the epoch (a lazy, per-epoch form for sparse rows).
                let second = target.second
                let b1: Float = 0.9, b2: Float = 0.999
                let c1 = 1 - powf(b1, adamStep), c2 = 1 - powf(b2, adamStep)
                for k in 0..<t.d {
                    accumulator[k] = b1 * accumulator[k] + (1 - b1) * g[k]
                    second[k] = b2 * second[k] + (1 - b2) * g[k] * g[k]
                    row[k] -= p.learningRate * (accumulator[k] / c1) / ((second[k] / c2).squareRoot() + 1e-8)
                }
            case .sgd:
                axpy(-p.learningRate, g, row, t.d)
            case .adagrad:
                // G += g²; x −= η g / √(G + ε), sixteen coordinates at a time.
                let lr = SIMD16<Float>(repeating: p.learningRate), eps = SIMD16<Float>(repeating: 1e-8)
                let rg = UnsafeRawPointer(g), ra = UnsafeMutableRawPointer(accumulator), rr = UnsafeMutableRawPointer(row)
                var k = 0
                while k + 16 <= t.d {
                    let gv = rg.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self)
                    let av = ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self) + gv * gv
                    ra.storeBytes(of: av, toByteOffset: k * 4, as: SIMD16<Float>.self)
                    let xv = rr.loadUnaligned(fromByteOffset: k * 4, as: SIMD16<Float>.self) - lr * gv / (av + eps).squareRoot()
                    rr.storeBytes(of: xv, toByteOffset: k * 4, as: SIMD16<Float>.self)
                    k += 16
                }
                while k < t.d {
                    accumulator[k] += g[k] * g[k]
                    row[k] -= p.learningRate * g[k] / (accumulator[k] + 1e-8).squareRoot()
                    k += 1
                }
            }
        }

        mutating func flush() {
            for (target, g) in pending { g.withUnsafeBufferPointer { update(target, $0.baseAddress!) } }
            pending.removeAll(keepingCapacity: true)
            if stableRankWeight > 0 {
                // −γ srank/d on the batch's unit-normalized user rows, and on its item rows.
                for set in [batchUsers, batchItems] where set.count > 1 {
                    let rows = Array(set.values)
                    let (_, gradients) = Regularizers.stableRank(rows: rows.map { UnsafePointer($0.values) }, d: t.d, weight: stableRankWeight)
                    gradients.withUnsafeBufferPointer { g in
                        for (r, target) in rows.enumerated() { update(target, g.baseAddress! + r * t.d) }
                    }
                }
                batchUsers.removeAll(keepingCapacity: true)
                batchItems.removeAll(keepingCapacity: true)
            }
        }

        /// One observed (u, i): draws negatives, takes the loss, steps; returns the loss.
        mutating func example(user u: Int, item i: Int, positives: ArraySlice<Int32>, sampler: NegativeSampler, batch: UnsafeBufferPointer<Int32>, rng: inout SplitMix64) -> Double {
            let d = t.d
            let uRow = t.U + u * d, iRow = t.V + i * d
            if stableRankWeight > 0 {
                batchUsers[u] = userRow(u)
                batchItems[i] = itemRow(i)
            }
            let sPos = dot(uRow, iRow, d)
            negatives.removeAll(keepingCapacity: true)
            negScores.removeAll(keepingCapacity: true)
            dNegs.removeAll(keepingCapacity: true)
            let wanted = p.loss == .bpr ? 1 : max(p.negatives, 1)
            for _ in 0..<wanted {
                guard let j = sampler.sample(positives: positives, rng: &rng, batch: batch, score: { dot(uRow, t.V + $0 * d, d) }) else { break }
                negatives.append(j)
                negScores.append(dot(uRow, t.V + j * d, d))
            }
            var loss: Float
            var dPos: Float
            if negatives.isEmpty {
                // Positives only.
                (loss, dPos) = Losses.binaryCrossEntropy(score: sPos, label: 1)
            } else {
                switch p.loss {
                case .bpr:
                    let r = Losses.bpr(positive: sPos, negative: negScores[0])
                    (loss, dPos) = (r.loss, r.dPositive)
                    dNegs.append(r.dNegative)
                case .bce:
                    let r = Losses.binaryCrossEntropy(score: sPos, label: 1)
                    (loss, dPos) = (r.loss, r.dScore)
                    for s in negScores {
                        let n = Losses.binaryCrossEntropy(score: s, label: 0)
                        loss += n.loss
                        dNegs.append(n.dScore)
                    }
                case .softmax:
                    let r = Losses.sampledSoftmax(positive: sPos, negatives: negScores, logQPositive: sampler.logQ[i], logQNegatives: negatives.map { sampler.logQ[$0] })
                    (loss, dPos) = (r.loss, r.dPositive)
                    dNegs.append(contentsOf: r.dNegatives)
                }
            }
            // dL/du = dPos v_i + Σ dNeg_j v_j + λ u ; dL/dv_i = dPos u + λ v_i ; dL/dv_j = dNeg_j u + λ v_j
            // (all computed from the values before this step's updates)
            for k in 0..<d {
                dUser[k] = dPos * iRow[k] + p.regularization * uRow[k]
                gItem[k] = dPos * uRow[k] + p.regularization * iRow[k]
            }
            for (j, g) in zip(negatives, dNegs) { axpy(g, t.V + j * d, dUser, d) }
            if gravityScale > 0 {
                // + γ ∂G/∂u and + γ ∂G/∂v_i, each row's share for this example.
                userGram.withUnsafeBufferPointer { g in
                    Regularizers.gravityGradient(row: uRow, otherGram: g.baseAddress!, d: d, scale: gravityScale / userCounts[u], into: gNeg)
                }
                axpy(1, gNeg, dUser, d)
                itemGram.withUnsafeBufferPointer { g in
                    Regularizers.gravityGradient(row: iRow, otherGram: g.baseAddress!, d: d, scale: gravityScale / max(itemCounts[i], 1), into: gNeg)
                }
                axpy(1, gNeg, gItem, d)
            }
            for (j, g) in zip(negatives, dNegs) {
                let jRow = t.V + j * d
                for k in 0..<d { gNeg[k] = g * uRow[k] + p.regularization * jRow[k] }
                apply(itemRow(j), gNeg)
            }
            apply(itemRow(i), gItem)
            apply(userRow(u), dUser)
            return Double(loss)
        }
    }
}

