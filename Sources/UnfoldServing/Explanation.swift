import UnfoldMath
import UnfoldModels

/// Why an item was recommended: how much each item of the query's history contributed to
/// its score.
///
/// - Fold-in: q = A⁻¹ b with A = G + Σ_j (c_j − w0) v_j v_jᵀ (+ λ·n I under ALS-WR) and
///   b = Σ_j c_j p_j v_j (c_j with its recency factor), so
///   score_i = q·v_i = Σ_j c_j p_j (A⁻¹ v_i)·v_j (A is symmetric): exact, and the
///   contributions sum to the score. A dislike (p = 0) contributes nothing directly.
/// - Mean pooling: q = Σ_j a_j v_j, so score_i = Σ_j a_j v_j·v_i: exact.
/// - Tower: a forward pass is not additive; item j's contribution is the score minus the
///   score without j (leave-one-out, over the latest `towerItems` items): approximate.
public enum Explanation {
    public struct Result: Sendable {
        /// False for the leave-one-out of a tower.
        public var exact: Bool
        /// Per scored item, every history row's contribution, largest first.
        public var contributions: [[(index: Int, contribution: Float)]]
    }

    /// How many of the latest items a tower's leave-one-out takes (a forward pass each).
    public static let towerItems = 100

    public static func explain(_ items: [(index: Int, score: Float)], bag: ItemBag, features: FeatureInput, with model: ServedModel) -> Result? {
        let d = model.dimensions, table = model.model.items.vectors.base
        func sorted(_ values: [(index: Int, contribution: Float)]) -> [(index: Int, contribution: Float)] {
            values.sorted { $0.contribution > $1.contribution || ($0.contribution == $1.contribution && $0.index < $1.index) }
        }
        switch model.model.encoder {
        case .foldIn(let foldIn):
            var a = foldIn.gram
            let multipliers = foldIn.recencyMultipliers(bag) ?? [Float](repeating: 1, count: bag.count)
            let shift = foldIn.diagonalShift(bag.weights)
            for r in 0..<d { a[r * d + r] += shift }
            a.withUnsafeMutableBufferPointer { ap in
                for (j, (w, m)) in zip(bag.indices, zip(bag.weights, multipliers)) {
                    let v = table + Int(j) * d, extra = m * foldIn.confidence(w) - foldIn.unobservedWeight
                    for row in 0..<d where v[row] != 0 { axpy(extra * v[row], v, ap.baseAddress! + row * d, d) }
                }
            }
            var out: [[(index: Int, contribution: Float)]] = []
            for (i, _) in items {
                var factor = a
                var x = Array(UnsafeBufferPointer(start: table + i * d, count: d))
                let solved = factor.withUnsafeMutableBufferPointer { f in x.withUnsafeMutableBufferPointer { choleskySolve(f.baseAddress!, $0.baseAddress!, d) } }
                guard solved else { return nil }
                out.append(sorted(zip(bag.indices, zip(bag.weights, multipliers)).map { j, wm in
                    (Int(j), wm.1 * foldIn.target(wm.0) * x.withUnsafeBufferPointer { dot($0.baseAddress!, table + Int(j) * d, d) })
                }))
            }
            return Result(exact: true, contributions: out)
        case .meanPooling:
            let liked = bag.withoutDislikes
            let total = liked.weights.reduce(0, +), count = Float(max(liked.count, 1))
            return Result(exact: true, contributions: items.map { i, _ in
                sorted(zip(liked.indices, liked.weights).map { j, w in
                    (Int(j), (total > 0 ? w / total : 1 / count) * dot(table + i * d, table + Int(j) * d, d))
                })
            })
        case .tower(let tower):
            let liked = bag.withoutDislikes
            let bias = tower.itemBias.base
            let considered = Array(zip(liked.indices, liked.weights).suffix(towerItems))
            var q = [Float](repeating: 0, count: d)
            func scores(_ bag: ItemBag) -> [Float] {
                q.withUnsafeMutableBufferPointer { tower.encode(bag: bag, features: features, out: $0.baseAddress!) }
                return items.map { item in q.withUnsafeBufferPointer { dot($0.baseAddress!, table + item.index * d, d) } + bias[item.index] }
            }
            let full = scores(liked)
            var out = [[(index: Int, contribution: Float)]](repeating: [], count: items.count)
            for (j, _) in considered {
                var without = ItemBag(capacity: liked.count)
                for (k, w) in zip(liked.indices, liked.weights) where k != j { without.add(k, weight: w) }
                let reduced = scores(without)
                for n in items.indices { out[n].append((Int(j), full[n] - reduced[n])) }
            }
            return Result(exact: false, contributions: out.map(sorted))
        }
    }
}
