import Dispatch
import UnfoldData
import UnfoldMath
import UnfoldModels

/// Weighted alternating least squares for implicit feedback.
///
/// Minimizes
///
///     L = Σ_(u,i) observed  c_ui (p_ui − u·v_i)²  +  w0 Σ_(u,i) unobserved (u·v_i)²  +  λ (‖U‖² + ‖V‖²)
///
/// with confidence c_ui = 1 + α|r_ui|, preference p_ui = 1 (0 for a dislike, r_ui < 0) and
/// unobserved weight w0 (the knob against folding). λ is either the same for both sides or
/// scaled to each side's mean observed confidence (`WALSParameters.lambda(rows:observedMass:)`):
/// users λ·Σc/N_users, items λ·Σc/N_items; or, as Spark ML's implicit ALS (ALS-WR), λ·n_row for each row with n_row
/// its cells with r > 0 (the L2 term is then λ Σ_rows n_row ‖x‖², and p = 1 only for r > 0).
/// Each half-step solves, for every row x of one side with the other side Y fixed,
///
///     (w0 YᵀY + λI + Σ_obs (c − w0) y yᵀ) x = Σ_obs c p y
///
/// exactly (Cholesky) or by a few conjugate-gradient steps warm-started from the current x.
/// Rows are independent within a half-step, so the result does not depend on the thread count.
public enum WALS {
    public struct Result: Sendable {
        public var userFactors: Matrix
        public var itemFactors: Matrix
        public var epochs: [EpochRecord]
    }

    public static func train(_ userItems: CSRMatrix, _ p: WALSParameters, threads: Int = defaultThreadCount, seed: UInt64 = 42,
                             shouldStop: () -> Bool = { false }, onIteration: (EpochRecord) -> Void = { _ in }) -> Result {
        let itemUsers = userItems.transposed()
        let scale = 0.01 as Float
        var users = Matrix.random(rows: userItems.rows, cols: p.factors, scale: scale, seed: seed)
        var items = Matrix.random(rows: userItems.cols, cols: p.factors, scale: scale, seed: seed &+ 1)
        var records: [EpochRecord] = []
        for iteration in 1...max(p.iterations, 1) {
            if shouldStop() { break }
            let start = DispatchTime.now().uptimeNanoseconds
            halfStep(update: &users, fixed: items, ratings: userItems, p, threads: threads)
            halfStep(update: &items, fixed: users, ratings: itemUsers, p, threads: threads)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let record = EpochRecord(epoch: iteration, loss: loss(userItems, users: users, items: items, p, threads: threads), seconds: elapsed,
                                     stableRankItems: Double(stableRank(items)), stableRankUsers: Double(stableRank(users)))
            records.append(record)
            onIteration(record)
        }
        return Result(userFactors: users, itemFactors: items, epochs: records)
    }

    /// Solves every row of `x` against the fixed side `y`.
    static func halfStep(update x: inout Matrix, fixed y: Matrix, ratings: CSRMatrix, _ p: WALSParameters, threads: Int) {
        let d = p.factors
        var g = gram(y, threads: threads)
        for i in 0..<(d * d) { g[i] *= p.unobservedWeight }
        // ALS-WR adds λ·n_row per row (in the row solve) instead.
        if p.objective == .wals {
            let lambda = p.lambda(rows: ratings.rows, observedMass: p.observedMass(ratings.values))
            for i in 0..<d { g[i * d + i] += lambda }
        }
        let rows = ratings.rows
        let chunkSize = 64
        let chunks = (rows + chunkSize - 1) / chunkSize
        let workers = max(1, threads)
        g.withUnsafeBufferPointer { gp in
            y.storage.withUnsafeBufferPointer { yp in
                x.storage.withUnsafeMutableBufferPointer { xp in
                    ratings.indptr.withUnsafeBufferPointer { indptr in
                        ratings.indices.withUnsafeBufferPointer { indices in
                            ratings.values.withUnsafeBufferPointer { values in
                                // Workers take chunks in a fixed interleaved order: the
                                // assignment changes with the thread count, the result does not.
                                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d * d + 4 * d)
                                    defer { scratch.deallocate() }
                                    var chunk = worker
                                    while chunk < chunks {
                                        for row in (chunk * chunkSize)..<min(rows, (chunk + 1) * chunkSize) {
                                            let range = indptr[row]..<indptr[row + 1]
                                            let out = xp.baseAddress! + row * d
                                            switch p.solver {
                                            case .cholesky:
                                                // The row solve fold-in runs too; a system that is not
                                                // positive definite leaves the row at zero.
                                                if !FoldIn.solveRow(gram: gp.baseAddress!, table: yp.baseAddress!, d: d, indices: indices.baseAddress! + range.lowerBound,
                                                                    weights: values.baseAddress! + range.lowerBound, count: range.count, alpha: p.alpha,
                                                                    unobservedWeight: p.unobservedWeight, objective: p.objective, regularization: p.regularization,
                                                                    scratch: scratch, out: out) {
                                                    out.update(repeating: 0, count: d)
                                                }
                                            case .cg:
                                                solveCG(g: gp.baseAddress!, y: yp.baseAddress!, d: d, range: range, indices: indices, values: values, p: p, scratch: scratch, x: out)
                                            }
                                        }
                                        chunk += workers
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Conjugate gradient on the same system, starting from the current x (as implicit does):
    /// A p = G p + Σ (c − w0)(y·p) y costs d² + 2·nnz·d instead of building A.
    @inline(__always)
    static func solveCG(g: UnsafePointer<Float>, y: UnsafePointer<Float>, d: Int, range: Range<Int>, indices: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Float>, p: WALSParameters, scratch: UnsafeMutablePointer<Float>, x: UnsafeMutablePointer<Float>) {
        let r = scratch, dir = scratch + d, ap = scratch + 2 * d
        let objective = p.objective
        // ALS-WR: λ·n_row on the diagonal (G holds w0 YᵀY alone).
        let shift = objective == .alsWR ? FoldIn.perPositive(p.regularization, values[range]) : 0
        // r = b − A x
        for i in 0..<d { r[i] = -dot(g + i * d, x, d) - shift * x[i] }
        // The first pass touches each row of the fixed side once, in random order: fetch
        // a few rows ahead so the loads overlap instead of stalling one by one.
        let ahead = 4
        for k in range.lowerBound..<min(range.upperBound, range.lowerBound + ahead) {
            unfold_prefetch_range(y + Int(indices[k]) * d, d * 4)
        }
        for k in range {
            if k + ahead < range.upperBound { unfold_prefetch_range(y + Int(indices[k + ahead]) * d, d * 4) }
            let v = y + Int(indices[k]) * d
            let extra = FoldIn.confidence(values[k], alpha: p.alpha) - p.unobservedWeight
            axpy(FoldIn.target(values[k], alpha: p.alpha, objective: objective) - extra * dot(v, x, d), v, r, d)
        }
        dir.update(from: r, count: d)
        var rsOld = dot(r, r, d)
        if rsOld < 1e-20 { return }
        for _ in 0..<p.cgSteps {
            for i in 0..<d { ap[i] = dot(g + i * d, dir, d) + shift * dir[i] }
            for k in range {
                let v = y + Int(indices[k]) * d
                let extra = FoldIn.confidence(values[k], alpha: p.alpha) - p.unobservedWeight
                axpy(extra * dot(v, dir, d), v, ap, d)
            }
            let denominator = dot(dir, ap, d)
            guard denominator > 0 else { return }
            let step = rsOld / denominator
            axpy(step, dir, x, d)
            axpy(-step, ap, r, d)
            let rsNew = dot(r, r, d)
            if rsNew < 1e-20 { return }
            let beta = rsNew / rsOld
            for i in 0..<d { dir[i] = r[i] + beta * dir[i] }
            rsOld = rsNew
        }
    }

    /// The objective L above, with Σ_all (u·v)² = Σ_jk (UᵀU)_jk (VᵀV)_jk so the
    /// unobserved cells are never enumerated.
    public static func loss(_ userItems: CSRMatrix, users: Matrix, items: Matrix, _ p: WALSParameters, threads: Int = defaultThreadCount) -> Double {
        let d = users.cols
        var observed = 0.0, observedSquares = 0.0
        users.storage.withUnsafeBufferPointer { up in
            items.storage.withUnsafeBufferPointer { vp in
                for u in 0..<userItems.rows {
                    for k in userItems.rowRange(u) {
                        let s = Double(dot(up.baseAddress! + u * d, vp.baseAddress! + Int(userItems.indices[k]) * d, d))
                        let r = userItems.values[k]
                        let c = Double(FoldIn.confidence(r, alpha: p.alpha)), preference: Double = FoldIn.target(r, alpha: p.alpha, objective: p.objective) > 0 ? 1 : 0
                        observed += c * (preference - s) * (preference - s)
                        observedSquares += s * s
                    }
                }
            }
        }
        let gu = gram(users, threads: threads), gv = gram(items, threads: threads)
        var all = 0.0
        for j in 0..<(d * d) { all += Double(gu[j]) * Double(gv[j]) }
        let l2: Double
        if p.objective == .alsWR {
            // λ Σ_rows n_row ‖x_row‖², n_row the row's cells with r > 0: both sides' counts in
            // one pass over the cells (no transpose per evaluation).
            var userCounts = [Int](repeating: 0, count: userItems.rows), itemCounts = [Int](repeating: 0, count: userItems.cols)
            for u in 0..<userItems.rows {
                for k in userItems.rowRange(u) where userItems.values[k] > 0 {
                    userCounts[u] += 1
                    itemCounts[Int(userItems.indices[k])] += 1
                }
            }
            func weighted(_ counts: [Int], _ x: Matrix) -> Double {
                counts.indices.reduce(0.0) { sum, row in
                    counts[row] == 0 ? sum : sum + Double(counts[row]) * x.storage[(row * d)..<((row + 1) * d)].reduce(0.0) { $0 + Double($1) * Double($1) }
                }
            }
            l2 = Double(p.regularization) * (weighted(userCounts, users) + weighted(itemCounts, items))
        } else {
            let mass = p.observedMass(userItems.values)
            l2 = Double(p.lambda(rows: users.rows, observedMass: mass)) * Double(users.frobeniusNormSquared)
                + Double(p.lambda(rows: items.rows, observedMass: mass)) * Double(items.frobeniusNormSquared)
        }
        return observed + Double(p.unobservedWeight) * (all - observedSquares) + l2
    }
}

/// WALS as a `Trainer`: served by fold-in with its own objective (α, w0, λ).
struct WALSTrainer: Trainer {
    let p: WALSParameters
    var epochs: Int { p.iterations }
    /// A dislike is a preference of 0 with confidence 1 + α|r| (as Spark ML's implicit ALS).
    var learnsDislikes: Bool { true }

    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel {
        let m = data.matrix
        context.phase(.train, "wals \(m.rows) users x \(m.cols) items, \(m.nonZeroCount) cells")
        let result = WALS.train(m, p, threads: context.threads, seed: context.seed, onIteration: context.onEpoch)
        var foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.lambda(rows: m.rows, observedMass: p.observedMass(m.values)),
                            objective: p.objective)
        foldIn.recencyBoost = p.recencyBoost
        foldIn.recencyHalfLife = p.recencyHalfLife
        return TrainedModel(items: result.itemFactors, encoder: .foldIn(foldIn), epochs: result.epochs, userVectors: result.userFactors, solver: p.solver.rawValue)
    }
}

extension WALSParameters: TrainerRecipe {
    public func makeTrainer() -> any Trainer { WALSTrainer(p: self) }
}
