import Foundation
import UnfoldMath
import UnfoldModels

extension SoftmaxDNN {
    /// One thread's batches: the tower pass, a gradient buffer as large as the parameters,
    /// and the sparse rows the current batch touched. Not Sendable: one per thread.
    final class Batch {
        let layout: Layout
        let p: SoftmaxParameters
        /// Parameters, Adam's first and second moments (shared by every thread: Hogwild).
        let P: UnsafeMutablePointer<Float>
        let M: UnsafeMutablePointer<Float>
        let S: UnsafeMutablePointer<Float>
        let grad: UnsafeMutablePointer<Float>
        let pass: TowerPass
        var touchedInput: [Int32] = []
        var touchedItems: [Int32] = []
        var markedInput: [Bool]
        var markedItems: [Bool]
        /// g_t / W_t per example of the batch (e floats each).
        var bagGradients: [Float]
        var candidates: [Int] = []
        var logits: [Float] = []

        init(layout: Layout, p: SoftmaxParameters, P: UnsafeMutablePointer<Float>, M: UnsafeMutablePointer<Float>, S: UnsafeMutablePointer<Float>) {
            self.layout = layout
            self.p = p
            self.P = P
            self.M = M
            self.S = S
            grad = .allocate(capacity: layout.count)
            grad.initialize(repeating: 0, count: layout.count)
            pass = TowerPass(layout: layout.tower)
            markedInput = [Bool](repeating: false, count: layout.n)
            markedItems = [Bool](repeating: false, count: layout.n)
            bagGradients = [Float](repeating: 0, count: max(p.batchSize, 1) * layout.e)
        }

        func release() {
            grad.deallocate()
        }

        func touchItem(_ i: Int) {
            if !markedItems[i] { markedItems[i] = true; touchedItems.append(Int32(i)) }
        }

        func touchInput(_ i: Int) {
            if !markedInput[i] { markedInput[i] = true; touchedInput.append(Int32(i)) }
        }

        /// Forward and backward over examples `range` of a user's sequence; returns their loss.
        func run(_ s: Sequence, ordered: Bool, range: Range<Int>, features: FeatureInput, positives: ArraySlice<Int32>,
                 sampler: NegativeSampler, rng: inout SplitMix64) -> Double {
            let e = layout.e, d = layout.d, n = s.items.count
            let input = P + layout.tower.inputTable
            var bag = [Float](repeating: 0, count: e)
            // Prefix sums up to the batch's first example (ordered), or the whole sum (leave one out).
            var sum = [Float](repeating: 0, count: e)
            var weightSum: Float = 0
            let upTo = ordered ? range.lowerBound : n
            for k in 0..<upTo {
                axpy(s.weights[k], input + Int(s.items[k]) * e, &sum, e)
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
                    let row = input + target * e
                    for k in 0..<e { bag[k] = bagWeight > 0 ? (sum[k] - s.weights[t] * row[k]) / bagWeight : 0 }
                }
                bag.withUnsafeBufferPointer { pass.forward(parameters: P, bag: $0.baseAddress!, features: features) }
                // Sampled softmax over the target and K negatives, logits z = q·v + b − log Q.
                candidates.removeAll(keepingCapacity: true)
                candidates.append(target)
                for _ in 0..<max(p.negatives, 1) {
                    guard let j = sampler.sample(positives: positives, rng: &rng, score: { _ in 0 }) else { break }
                    candidates.append(j)
                }
                let q = pass.output
                logits.removeAll(keepingCapacity: true)
                for c in candidates { logits.append(dot(q, P + layout.items + c * d, d) + P[layout.itemBias + c] - sampler.logQ[c]) }
                loss += Double(logits.withUnsafeMutableBufferPointer { Losses.sampledSoftmax(logits: $0) })
                // logits now hold dL/dz: dq = Σ dz v; dv = dz q; db = dz.
                let dq = pass.outputGradient
                dq.update(repeating: 0, count: d)
                for (k, c) in candidates.enumerated() {
                    let dz = logits[k]
                    axpy(dz, P + layout.items + c * d, dq, d)
                    axpy(dz, q, grad + layout.items + c * d, d)
                    grad[layout.itemBias + c] += dz
                    touchItem(c)
                }
                // dL/dx through the tower (feature rows included); the bag part, divided by W_t, to the bag items.
                pass.backward(parameters: P, gradient: grad, features: features)
                let dx = pass.deltas[0]
                let slot = (t - range.lowerBound) * e
                for k in 0..<e { bagGradients[slot + k] = bagWeight > 0 ? dx[k] / bagWeight : 0 }
                if ordered {
                    axpy(s.weights[t], input + target * e, &sum, e)
                    weightSum += s.weights[t]
                }
            }
            // Item p of the sequence gets w_p Σ over the batch's examples whose bag holds p.
            var acc = [Float](repeating: 0, count: e)
            let gradInput = grad + layout.tower.inputTable
            if ordered {
                // Bags are prefixes: example t holds p < t. Walk p downwards, adding G_{p+1}.
                for pos in stride(from: range.upperBound - 2, through: 0, by: -1) {
                    let t = pos + 1
                    if t >= range.lowerBound && t < range.upperBound {
                        bagGradients.withUnsafeBufferPointer { axpy(1, $0.baseAddress! + (t - range.lowerBound) * e, &acc, e) }
                    }
                    let item = Int(s.items[pos])
                    axpy(s.weights[pos], acc, gradInput + item * e, e)
                    touchInput(item)
                }
            } else {
                for t in range { bagGradients.withUnsafeBufferPointer { axpy(1, $0.baseAddress! + (t - range.lowerBound) * e, &acc, e) } }
                for pos in 0..<n {
                    let item = Int(s.items[pos])
                    axpy(s.weights[pos], acc, gradInput + item * e, e)
                    if range.contains(pos) {
                        bagGradients.withUnsafeBufferPointer { axpy(-s.weights[pos], $0.baseAddress! + (pos - range.lowerBound) * e, gradInput + item * e, e) }
                    }
                    touchInput(item)
                }
            }
            return loss
        }

        /// Adam on the dense block and the touched rows, then clears their gradients.
        func apply(step: Int) {
            let rate = Optimizers.adamRate(p.learningRate, step: Float(max(step, 1)))
            let scale = 1 / Float(max(p.batchSize, 1))
            func adam(_ offset: Int, _ count: Int, decay: Float) {
                Optimizers.adam(P + offset, grad + offset, first: M + offset, second: S + offset, count: count, rate: rate, scale: scale, decay: decay, clear: true)
            }
            let tower = layout.tower
            adam(tower.denseStart, tower.count - tower.denseStart, decay: 0)
            for i in touchedInput {
                adam(tower.inputTable + Int(i) * layout.e, layout.e, decay: p.regularization)
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
