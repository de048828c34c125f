import Foundation
import UnfoldMath
import UnfoldModels

extension MFSGD {
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
        let p: MFSGDParameters
        let sampling: NegativeSampling
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
        /// Adam's rate with the bias correction of the epoch (lazy Adam: rows are corrected
        /// by epoch, not by touch).
        var adamRate: Float = 0
        /// Sampled softmax logits (positive first), then its gradients.
        var logits: [Float] = []
        /// The distinct user and item rows of the current mini-batch (stable-rank regularizer).
        var batchUsers: [Int: Row] = [:]
        var batchItems: [Int: Row] = [:]

        init(p: MFSGDParameters, sampling: NegativeSampling, tables: Tables) {
            self.p = p
            self.sampling = sampling
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
            switch p.optimizer {
            case .adam:
                Optimizers.adam(target.values, UnsafeMutablePointer(mutating: g), first: target.first, second: target.second, count: t.d, rate: adamRate)
            case .sgd:
                Optimizers.sgd(target.values, g, count: t.d, rate: p.learningRate)
            case .adagrad:
                Optimizers.adagrad(target.values, g, accumulator: target.first, count: t.d, rate: p.learningRate)
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
        mutating func example(user u: Int, item i: Int, positives: ArraySlice<Int32>, disliked: ArraySlice<Int32> = [], sampler: NegativeSampler,
                              batch: UnsafeBufferPointer<Int32>, rng: inout SplitMix64) -> Double {
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
            // Explicit negatives first: a disliked item for half of the BPR pairs, and up to
            // `wanted` of them for the other losses; sampled ones fill the rest.
            if !disliked.isEmpty {
                let take = p.loss == .bpr ? Int(rng.next() & 1) : min(disliked.count, wanted)
                for _ in 0..<take {
                    let j = Int(disliked[disliked.startIndex + Int(rng.next() % UInt64(disliked.count))])
                    negatives.append(j)
                    negScores.append(dot(uRow, t.V + j * d, d))
                }
            }
            while negatives.count < wanted {
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
                    logits.removeAll(keepingCapacity: true)
                    logits.append(sPos - sampler.logQ[i])
                    for (j, s) in zip(negatives, negScores) { logits.append(s - sampler.logQ[j]) }
                    loss = logits.withUnsafeMutableBufferPointer { Losses.sampledSoftmax(logits: $0) }
                    dPos = logits[0]
                    dNegs.append(contentsOf: logits.dropFirst())
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

