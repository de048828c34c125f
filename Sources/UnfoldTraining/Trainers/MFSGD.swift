import Dispatch
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing

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
    public struct Result: Sendable {
        public var userFactors: Matrix
        public var itemFactors: Matrix
        public var epochs: [EpochRecord]
    }

    /// The negatives the parameters ask for.
    static func sampling(_ p: MFSGDParameters) -> NegativeSampling {
        switch p.sampler {
        case .none: return .none
        case .uniform: return .uniform
        case .popularity: return .popularity(beta: p.beta)
        case .hard: return .hard(candidates: p.hardCandidates, temperature: 1)
        case .inBatch: return .inBatch
        }
    }

    /// `evaluate(users, items)`, when given, runs after every epoch (untimed); its value goes
    /// into the epoch's record.
    ///
    /// `dislikes` (users × items, same id spaces), when given, are explicit negatives: a
    /// disliked item is the negative of half of a user's BPR pairs, and joins the sampled
    /// negatives of the other losses (up to their count).
    public static func train(_ userItems: CSRMatrix, _ p: MFSGDParameters, threads: Int = defaultThreadCount, seed: UInt64 = 42,
                             dislikes: CSRMatrix? = nil, evaluate: ((Matrix, Matrix) -> (served: Double, trainedUsers: Double?))? = nil, onEpoch: (EpochRecord) -> Void = { _ in }) -> Result {
        let d = p.factors
        var users = Matrix.random(rows: userItems.rows, cols: d, scale: p.initScale / Float(d).squareRoot(), seed: seed)
        var items = Matrix.random(rows: userItems.cols, cols: d, scale: p.initScale / Float(d).squareRoot(), seed: seed &+ 1)
        var itemCounts = [Float](repeating: 0, count: userItems.cols)
        for i in userItems.indices { itemCounts[Int(i)] += 1 }
        let sampling = sampling(p)
        let sampler = NegativeSampler(sampling, itemCounts: itemCounts)
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
        var history: [EpochRecord] = []
        var rng = SplitMix64(seed: seed &+ 7)

        for epoch in 1...max(p.epochs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            order.shuffle(using: &rng)
            let epochSeed = rng.next()
            // Grams of the other side, fixed for the epoch (stale by at most one epoch).
            let userGram = gravityScale > 0 ? gram(users, threads: threads) : []
            let itemGram = gravityScale > 0 ? gram(items, threads: threads) : []
            let total = users.storage.withUnsafeMutableBufferPointer { U in
                items.storage.withUnsafeMutableBufferPointer { V in
                    userAccumulator.withUnsafeMutableBufferPointer { GU in
                        itemAccumulator.withUnsafeMutableBufferPointer { GV in
                            userSecond.withUnsafeMutableBufferPointer { SU in
                                itemSecond.withUnsafeMutableBufferPointer { SV in
                                    hogwildEpoch(count: order.count, workers: threads, seed: epochSeed) { _, range, local in
                                        let tables = Tables(U: U.baseAddress!, V: V.baseAddress!, GU: GU.baseAddress!, GV: GV.baseAddress!,
                                                            SU: SU.baseAddress ?? GU.baseAddress!, SV: SV.baseAddress ?? GV.baseAddress!, d: d)
                                        var step = Step(p: p, sampling: sampling, tables: tables)
                                        step.gravityScale = gravityScale
                                        step.userGram = itemGram
                                        step.itemGram = userGram
                                        step.userCounts = userCounts
                                        step.itemCounts = itemCounts
                                        step.stableRankWeight = epoch <= p.stableRankEpochs ? p.stableRankWeight : 0
                                        step.adamRate = Optimizers.adamRate(p.learningRate, step: Float(epoch))
                                        var loss = 0.0
                                        var inBatch = 0
                                        // In-batch negatives: the items of the current mini-batch.
                                        var pool: [Int32] = []
                                        for position in range {
                                            if sampling == .inBatch && inBatch == 0 {
                                                pool.removeAll(keepingCapacity: true)
                                                for q in position..<min(position + p.batchSize, range.upperBound) { pool.append(userItems.indices[order[q]]) }
                                            }
                                            // Rows are touched in random order: fetch the rows of the
                                            // example a few positions ahead while this one computes.
                                            if position + 4 < range.upperBound {
                                                let ahead = order[position + 4]
                                                unfold_prefetch_range(U.baseAddress! + Int(rowOf[ahead]) * d, d * 4)
                                                unfold_prefetch_range(V.baseAddress! + Int(userItems.indices[ahead]) * d, d * 4)
                                            }
                                            let k = order[position]
                                            let u = Int(rowOf[k]), i = Int(userItems.indices[k])
                                            let positives = userItems.indices[userItems.rowRange(u)]
                                            let disliked = dislikes.map { $0.indices[$0.rowRange(u)] } ?? []
                                            loss += pool.withUnsafeBufferPointer {
                                                step.example(user: u, item: i, positives: positives, disliked: disliked, sampler: sampler, batch: $0, rng: &local)
                                            }
                                            inBatch += 1
                                            if inBatch >= p.batchSize {
                                                step.flush()
                                                inBatch = 0
                                            }
                                        }
                                        step.flush()
                                        step.release()
                                        return (loss, range.count)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let heldOut = evaluate?(users, items)
            let record = EpochRecord(epoch: epoch, loss: total.loss / Double(max(order.count, 1)), seconds: seconds,
                                     stableRankItems: Double(stableRank(items)), stableRankUsers: Double(stableRank(users)),
                                     ndcg: heldOut?.served, trainedUsersNDCG: heldOut?.trainedUsers, gravity: Regularizers.gravity(users: users, items: items))
            history.append(record)
            onEpoch(record)
        }
        return Result(userFactors: users, itemFactors: items, epochs: history)
    }
}

/// mf-sgd as a `Trainer`. It is served by the fold-in solve against its item table
/// (c = 1 + r, w0 = 1), with λ a multiple (`fold_in_scale`) of the mean squared item norm,
/// to match the table's scale; by default the multiple whose served rankings best
/// reproduce the trained user vectors' on training users (no held-out data).
struct MFSGDTrainer: Trainer {
    let p: MFSGDParameters
    var epochs: Int { p.epochs }
    /// Users sampled for the fold-in scale choice, and the cut-off compared.
    static let scaleUsers = 3000, scaleK = 10
    static let scales: [Double] = [1, 10, 100, 1000, 10000]

    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel {
        let m = data.matrix
        context.phase(.train, "mf-sgd \(p.loss.rawValue)/\(p.sampler.rawValue) \(m.rows) users x \(m.cols) items, \(m.nonZeroCount) cells")
        let evaluate: ((Matrix, Matrix) -> (served: Double, trainedUsers: Double?))? = context.evaluate.map { evaluate in
            { users, items in
                let trained = TrainedModel(items: items, encoder: .foldIn(Self.foldIn(items, scale: p.foldInScale ?? 1000)), epochs: [], solver: "")
                return evaluate(trained.model(data, kind: .mfSGD), users, nil)
            }
        }
        if let dislikes = data.dislikes, dislikes.nonZeroCount > 0 { context.note("mf-sgd: \(dislikes.nonZeroCount) disliked (user, item) pairs as explicit negatives") }
        let result = MFSGD.train(m, p, threads: context.threads, seed: context.seed, dislikes: data.dislikes, evaluate: evaluate, onEpoch: context.onEpoch)
        var scale = p.foldInScale ?? 0
        if p.foldInScale == nil {
            context.phase(.foldIn, "choosing the fold-in scale that reproduces the trained users' rankings")
            let choice = chooseScale(result, data, threads: context.threads)
            scale = choice.scale
            context.note("fold-in scale \(scale) (top-\(Self.scaleK) agreement with the trained user vectors: "
                         + choice.grid.sorted { $0.key < $1.key }.map { "\($0.key): \(($0.value * 10000).rounded() / 10000)" }.joined(separator: ", ") + ")")
        }
        return TrainedModel(items: result.itemFactors, encoder: .foldIn(Self.foldIn(result.itemFactors, scale: scale)), epochs: result.epochs,
                            userVectors: result.userFactors, chosen: ["fold_in_scale": scale],
                            solver: "\(p.optimizer.rawValue)/\(p.loss.rawValue)/\(p.sampler.rawValue)")
    }

    /// The served encoder at a scale.
    static func foldIn(_ items: Matrix, scale: Double) -> FoldIn {
        let meanSquaredNorm = Double(items.frobeniusNormSquared) / Double(max(items.rows, 1))
        return FoldIn(items: items, alpha: 1, unobservedWeight: 1, regularization: Float(scale * meanSquaredNorm + 1e-6))
    }

    /// The scale whose served top-k lists overlap most with the trained user vectors'
    /// lists, for up to `scaleUsers` training users; with each grid point's agreement.
    func chooseScale(_ result: MFSGD.Result, _ data: TrainingData, threads: Int) -> (scale: Double, grid: [Double: Double]) {
        let m = data.matrix
        let eligible = (0..<m.rows).filter { m.rowCount($0) > 0 }
        let stride = max(1, eligible.count / Self.scaleUsers)
        let sample = eligible.enumerated().filter { $0.offset % stride == 0 }.map(\.element)
        func served(_ scale: Double) -> ServedModel {
            let trained = TrainedModel(items: result.itemFactors, encoder: .foldIn(Self.foldIn(result.itemFactors, scale: scale)), epochs: [], solver: "")
            return ServedModel(name: "mf-sgd", model: trained.model(data, kind: .mfSGD))
        }
        // The trained users' lists once; each scale's served lists against them.
        let first = served(Self.scales[0])
        let reference = Evaluation.topLists(first, train: m, users: sample, k: Self.scaleK, lists: .vectors(result.userFactors), threads: threads)
        var grid: [Double: Double] = [:]
        for scale in Self.scales {
            grid[scale] = Evaluation.agreement(scale == Self.scales[0] ? first : served(scale), train: m, users: sample, k: Self.scaleK,
                                               lists: .served(features: nil), reference: reference, threads: threads)
        }
        let best = grid.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        return (best, grid)
    }
}

extension MFSGDParameters: TrainerRecipe {
    public func makeTrainer() -> any Trainer { MFSGDTrainer(p: self) }
}
