import Foundation
import Dispatch
import UnfoldMath

/// The query encoder of a matrix-factorization model: the least-squares user vector
/// for a set of interactions, the same step WALS runs for every user:
///
///     (w0 VᵀV + λI + Σ_i (c_i − w0) v_i v_iᵀ) q = Σ_i c_i v_i,   c_i = 1 + α r_i
///
/// `gram` holds w0 VᵀV + λI, computed once per model.
///
/// With recency (κ > 0) a query's confidences also grow with how recent each item is:
/// c_i = (1 + α|r_i|)·(1 + κ·2^(−a_i/h)), a_i the number of the query's items seen after i
/// (0 for the newest) and h the half-life in items, so the latest items speak loudest.
///
/// With the ALS-WR objective (Spark ML's implicit ALS, `Objective.alsWR`) λ is not a constant
/// of the Gram term but grows with the query: λ·n, n the query's items with r > 0, and a cell
/// with r = 0 adds nothing (preference 1 only for r > 0):
///
///     (w0 VᵀV + λ·n·I + Σ_i (c_i − w0) v_i v_iᵀ) q = Σ_(r_i > 0) c_i v_i
///
/// `gram` then holds w0 VᵀV alone and every query takes the direct solve.
public struct FoldIn: Sendable, Equatable {
    /// Which least-squares problem a query solves.
    public enum Objective: UInt32, Sendable, CaseIterable {
        /// Unfold's WALS: λ is part of the Gram term, the same for every query.
        case wals = 0
        /// Spark ML's implicit ALS (ALS-WR): λ·n for a query of n items with r > 0.
        case alsWR = 1

        public var name: String { self == .wals ? "wals" : "als-wr" }
    }

    public var alpha: Float
    public var unobservedWeight: Float
    public var regularization: Float
    /// κ: how much more the newest item's confidence weighs (0: no recency).
    public var recencyBoost: Float = 0
    /// h: after how many newer items an item's boost halves.
    public var recencyHalfLife: Float = 1
    public let objective: Objective
    public var dimensions: Int
    /// w0 VᵀV + λI (w0 VᵀV alone for ALS-WR), d×d row-major.
    public var gram: [Float]
    /// Its inverse (empty when the Gram term is singular), for the Woodbury path of `encode`.
    public let inverseGram: [Float]
    /// XᵀX of the training users' fold-in vectors (d×d), when the trainer stored it: item
    /// fold-in (`itemVector`) places an item the model never saw against those users.
    public var userGram: [Float]?

    public init(alpha: Float, unobservedWeight: Float, regularization: Float, gram: [Float], objective: Objective = .wals) {
        self.alpha = alpha
        self.unobservedWeight = unobservedWeight
        self.regularization = regularization
        self.objective = objective
        self.dimensions = Int(Double(gram.count).squareRoot())
        self.gram = gram
        precondition(dimensions * dimensions == gram.count, "gram must be square")
        // ALS-WR's λ·n differs per query: no one inverse serves them (every query solves directly).
        let inverse = objective == .wals ? choleskyInverse(gram, dimensions) ?? [] : []
        self.inverseGram = inverse.allSatisfy(\.isFinite) ? inverse : []
    }

    public static func == (a: FoldIn, b: FoldIn) -> Bool {
        a.alpha == b.alpha && a.unobservedWeight == b.unobservedWeight && a.regularization == b.regularization && a.gram == b.gram && a.userGram == b.userGram
            && a.recencyBoost == b.recencyBoost && a.recencyHalfLife == b.recencyHalfLife && a.objective == b.objective
    }

    /// What a query's solve adds to the Gram term's diagonal: λ·n for ALS-WR (n = the
    /// weights > 0), nothing for WALS (λ is in the Gram term).
    public func diagonalShift<W: Sequence<Float>>(_ weights: W) -> Float {
        objective == .alsWR ? Self.perPositive(regularization, weights) : 0
    }

    /// λ·n, n the weights > 0: ALS-WR's regularization of one row.
    @inlinable
    public static func perPositive<W: Sequence<Float>>(_ regularization: Float, _ weights: W) -> Float {
        regularization * Float(weights.reduce(0) { $1 > 0 ? $0 + 1 : $0 })
    }

    /// c·p of an observed weight under this objective (see `target(_:alpha:objective:)`).
    @inlinable
    public func target(_ weight: Float) -> Float { Self.target(weight, alpha: alpha, objective: objective) }

    /// Per item of `bag`, the factor 1 + κ·2^(−a/h) its confidence (and target) is multiplied
    /// by; nil without recency, or for a bag that is a set (`ordered` false).
    public func recencyMultipliers(_ bag: ItemBag) -> [Float]? {
        guard recencyBoost > 0, bag.ordered, !bag.isEmpty else { return nil }
        let boost = recencyBoost, decay = -1 / max(recencyHalfLife, .leastNormalMagnitude)
        return bag.recencyRanks.map { 1 + boost * exp2f(Float($0) * decay) }
    }

    /// Item fold-in: the least-squares item vector for the users who interacted with an item
    /// (their fold-in vectors, `count` rows of `users`, with their summed weights), the same
    /// step as `solveRow` with the roles swapped:
    ///
    ///     (w0 XᵀX + λI + Σ_u (c_u − w0) x_u x_uᵀ) v = Σ_u c_u p_u x_u
    ///
    /// Nil without a stored user Gram, or when the system is not positive definite.
    public func itemVector(users: UnsafePointer<Float>, count: Int, weights: [Float]) -> [Float]? {
        guard let userGram, count == weights.count else { return nil }
        let d = dimensions
        var g = userGram.map { $0 * unobservedWeight }
        let shift = objective == .wals ? regularization : diagonalShift(weights)
        for i in 0..<d { g[i * d + i] += shift }
        let indices = (0..<count).map(Int32.init)
        var scratch = [Float](repeating: 0, count: Self.rowScratchCount(d))
        var out = [Float](repeating: 0, count: d)
        let ok = g.withUnsafeBufferPointer { gp in
            indices.withUnsafeBufferPointer { ip in
                weights.withUnsafeBufferPointer { wp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        out.withUnsafeMutableBufferPointer { op in
                            Self.solveRow(gram: gp.baseAddress!, table: users, d: d, indices: ip.baseAddress, weights: wp.baseAddress, count: count,
                                          alpha: alpha, unobservedWeight: unobservedWeight, objective: objective, scratch: sp.baseAddress!, out: op.baseAddress!)
                        }
                    }
                }
            }
        }
        return ok && out.allSatisfy(\.isFinite) ? out : nil
    }

    /// Builds the Gram term from an item table.
    public init(items: Matrix, alpha: Float, unobservedWeight: Float, regularization: Float, objective: Objective = .wals) {
        var g = UnfoldMath.gram(items)
        let d = items.cols
        for i in 0..<(d * d) { g[i] *= unobservedWeight }
        if objective == .wals { for i in 0..<d { g[i * d + i] += regularization } }
        self.init(alpha: alpha, unobservedWeight: unobservedWeight, regularization: regularization, gram: g, objective: objective)
    }

    /// The confidence of an observed weight r: c = 1 + α|r|.
    @inlinable
    public func confidence(_ weight: Float) -> Float { Self.confidence(weight, alpha: alpha) }

    /// c = 1 + α|r|: a negative weight (a dislike) is held with the confidence of its size.
    @inlinable
    public static func confidence(_ weight: Float, alpha: Float) -> Float { 1 + alpha * abs(weight) }

    /// c·p, what an observed weight adds to the right-hand side: the preference p is 1 for
    /// r ≥ 0 and 0 for r < 0 (a dislike pulls the score toward 0, as Spark's implicit ALS
    /// treats a negative rating). Under ALS-WR, as in Spark, p is 1 only for r > 0.
    @inlinable
    public static func target(_ weight: Float, alpha: Float, objective: Objective = .wals) -> Float {
        weight < 0 || (weight == 0 && objective == .alsWR) ? 0 : 1 + alpha * weight
    }

    /// Floats of scratch space `encode` needs.
    public var scratchCount: Int { 3 * dimensions * dimensions + 64 }

    /// Encodes interactions (item row indices with weights) against `items` (n×d, row-major).
    /// `scratch` must hold `scratchCount` floats; the result is written to `out` (d floats).
    /// Returns false when the system is not positive definite (λ = 0 and too few items).
    ///
    /// With G = w0 VᵀV + λI, A = G + Σ_j e_j v_j v_jᵀ (e_j = c_j − w0 ≠ 0), b = Σ_j c_j p_j v_j and m such items,
    /// m ≤ d/2 takes the Woodbury identity against the precomputed G⁻¹:
    ///
    ///     A⁻¹ b = x0 − Wᵀ (E⁻¹ + W Vmᵀ)⁻¹ Vm x0,   x0 = G⁻¹ b,  W = Vm G⁻¹ (rows G⁻¹ v_j)
    ///
    /// an m×m solve instead of a d×d factorization (m·d² + m²·d work instead of m·d² + d³/3).
    /// S is positive definite when every e_j > 0 (Cholesky) and indefinite otherwise (elimination
    /// with partial pivoting). More items, or a singular m×m system, take the direct Cholesky solve.
    ///
    /// `solved`, when given, is the table of `solvedItems` (row i = G⁻¹ v_i): the rows of W and
    /// x0 are then read from it, not computed, and the Woodbury path costs m²·d, not m·d².
    public func encode(items: UnsafePointer<Float>, solved: UnsafePointer<Float>? = nil, bag: ItemBag,
                       scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) -> Bool {
        let multipliers = recencyMultipliers(bag)
        if woodbury(items: items, solved: solved, bag: bag, multipliers: multipliers, scratch: scratch, out: out) { return true }
        return bag.indices.withUnsafeBufferPointer { indices in
            bag.weights.withUnsafeBufferPointer { weights in
                gram.withUnsafeBufferPointer { g in
                    Self.withOptional(multipliers) { m in
                        Self.solveRow(gram: g.baseAddress!, table: items, d: dimensions, indices: indices.baseAddress, weights: weights.baseAddress, count: bag.count,
                                      alpha: alpha, unobservedWeight: unobservedWeight, objective: objective, regularization: regularization,
                                      multipliers: m, scratch: scratch, out: out)
                    }
                }
            }
        }
    }

    /// Whether a table of `solvedItems` pays for a catalogue of `items` rows: it costs a second
    /// copy of the table (and n·d² work at load), so only up to 16M floats (64 MB).
    public func solvesItems(rows items: Int) -> Bool {
        !inverseGram.isEmpty && items * dimensions <= 16 << 20
    }

    /// The rows G⁻¹ v_i of an item table (G⁻¹ is symmetric: v_iᵀ G⁻¹), n×d row-major, for
    /// `encode(items:solved:...)`. Two rows per pass over G⁻¹, on `threads` threads.
    public func solvedItems(_ items: UnsafePointer<Float>, rows n: Int, threads: Int) -> [Float] {
        let d = dimensions
        precondition(!inverseGram.isEmpty, "solvedItems needs an invertible Gram term")
        return [Float](unsafeUninitializedCapacity: n * d) { out, count in
            let o = out.baseAddress!
            inverseGram.withUnsafeBufferPointer { gi in
                let inverse = gi.baseAddress!
                let chunks = max(1, min(threads, n / 256))
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    var r = c * n / chunks
                    let end = (c + 1) * n / chunks
                    while r + 1 < end {
                        vectorMatrix2(items + r * d, items + (r + 1) * d, inverse, rows: d, cols: d, into: o + r * d, o + (r + 1) * d)
                        r += 2
                    }
                    if r < end { vectorMatrix(items + r * d, inverse, rows: d, cols: d, into: o + r * d) }
                }
            }
            count = n * d
        }
    }

    /// A pointer to the array's elements (nil for nil) for the duration of `body`.
    static func withOptional<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let array else { return body(nil) }
        return array.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    func woodbury(items: UnsafePointer<Float>, solved: UnsafePointer<Float>?, bag: ItemBag, multipliers: [Float]?, scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) -> Bool {
        let d = dimensions
        let indices = bag.indices, weights = bag.weights
        guard !inverseGram.isEmpty else { return false }
        // The confidence and the right-hand-side coefficient c·p of item k.
        func c(_ k: Int) -> Float { confidence(weights[k]) * (multipliers?[k] ?? 1) }
        func cp(_ k: Int) -> Float { Self.target(weights[k], alpha: alpha) * (multipliers?[k] ?? 1) }
        var m = 0
        for k in 0..<weights.count where c(k) - unobservedWeight != 0 { m += 1 }
        // scratch: W (m×d, unless read from `solved`); Wᵀ with x0 as column m, padded to P
        // columns (d×P); two rows of S and t (2P); S (m×m); t (m); x0 = G⁻¹ b (d).
        let P = (m + 1 + 15) / 16 * 16
        guard m > 0, m <= d / 2, m * d + d * P + 2 * P + m * m + m + d <= scratchCount else { return false }
        let w = scratch, wt = w + m * d, row = wt + d * P, s = row + 2 * P, t = s + m * m, x0 = t + m
        var rows: [Int] = [], extras: [Float] = []
        rows.reserveCapacity(m)
        extras.reserveCapacity(m)
        for k in 0..<indices.count {
            let extra = c(k) - unobservedWeight
            if extra != 0 {
                rows.append(Int(indices[k]))
                extras.append(extra)
            }
        }
        // Row j of W: G⁻¹ v_j, from the solved table or computed into w.
        func wRow(_ j: Int) -> UnsafePointer<Float> {
            if let solved { return solved + rows[j] * d }
            return UnsafePointer(w + j * d)
        }
        if let solved {
            // x0 = G⁻¹ b = Σ c_i G⁻¹ v_i.
            x0.update(repeating: 0, count: d)
            for k in 0..<indices.count { axpy(cp(k), solved + Int(indices[k]) * d, x0, d) }
        } else {
            // b = Σ c_i v_i, built in out; W_j = G⁻¹ v_j and x0 = G⁻¹ b, register-accumulated,
            // two vectors per pass over G⁻¹ (x0 pairs with the last item when m is odd).
            out.update(repeating: 0, count: d)
            for k in 0..<indices.count { axpy(cp(k), items + Int(indices[k]) * d, out, d) }
            inverseGram.withUnsafeBufferPointer { gi in
                let inverse = gi.baseAddress!
                var j = 0
                while j + 1 < m {
                    vectorMatrix2(items + rows[j] * d, items + rows[j + 1] * d, inverse, rows: d, cols: d, into: w + j * d, w + (j + 1) * d)
                    j += 2
                }
                if j < m {
                    vectorMatrix2(items + rows[j] * d, out, inverse, rows: d, cols: d, into: w + j * d, x0)
                } else {
                    vectorMatrix(out, inverse, rows: d, cols: d, into: x0)
                }
            }
        }
        // S = E⁻¹ + Vm Wᵀ and t = Vm x0, a row at a time: v_jᵀ [Wᵀ | x0].
        for j in 0..<m {
            let wj = wRow(j)
            for r in 0..<d { wt[r * P + j] = wj[r] }
        }
        for r in 0..<d {
            wt[r * P + m] = x0[r]
            for j in (m + 1)..<P { wt[r * P + j] = 0 }
        }
        func copyRow(_ jj: Int, _ r: UnsafeMutablePointer<Float>) {
            for l in 0..<m { s[jj * m + l] = r[l] }
            s[jj * m + jj] += 1 / extras[jj]
            t[jj] = r[m]
        }
        // Rows of S two at a time.
        var j2 = 0
        while j2 < m {
            let next = j2 + 1 < m ? j2 + 1 : j2
            vectorMatrix2(items + rows[j2] * d, items + rows[next] * d, wt, rows: d, cols: P, into: row, row + P)
            copyRow(j2, row)
            if next != j2 { copyRow(next, row + P) }
            j2 += 2
        }
        // S is positive definite when every e_j is; an observed weight below w0 (e_j < 0, e.g.
        // a small confidence against a large unobserved weight) makes it indefinite, solved by
        // elimination with pivoting instead.
        if extras.allSatisfy({ $0 > 0 }) {
            guard choleskySolve(s, t, m) else { return false }
        } else {
            guard luSolve(s, t, m) else { return false }
        }
        out.update(from: x0, count: d)
        for j in 0..<m { axpy(-t[j], wRow(j), out, d) }
        return true
    }

    /// Convenience for tests and tools: returns q or nil.
    public func encode(items: Matrix, bag: ItemBag) -> [Float]? {
        var scratch = [Float](repeating: 0, count: scratchCount)
        var q = [Float](repeating: 0, count: dimensions)
        let ok = items.storage.withUnsafeBufferPointer { table in
            scratch.withUnsafeMutableBufferPointer { s in
                q.withUnsafeMutableBufferPointer { o in
                    encode(items: table.baseAddress!, bag: bag, scratch: s.baseAddress!, out: o.baseAddress!)
                }
            }
        }
        return ok ? q : nil
    }
}

extension FoldIn {
    /// Floats of scratch space `solveRow` needs for dimension d.
    public static func rowScratchCount(_ d: Int) -> Int { d * d }

    /// The least-squares row of weighted ALS against a fixed side Y, solved exactly:
    ///
    ///     (G + Σ_i (c_i − w0) y_i y_iᵀ) x = Σ_i c_i p_i y_i,   c_i = m_i (1 + α|r_i|),   G = w0 YᵀY + λI
    ///
    /// with p_i = 1 for r_i ≥ 0 and 0 for a dislike (r_i < 0), and m_i the recency
    /// `multipliers` (1 without them). Under ALS-WR `gram` is w0 YᵀY alone, `regularization`·n
    /// is added to its diagonal (n = the weights > 0) and p_i is 1 only for r_i > 0.
    ///
    /// over the `count` rows `indices` of `table` with weights r_i. WALS runs it for every
    /// user and item row of a half-step; fold-in runs it for a query. Writes x into `out`;
    /// returns false when the system is not positive definite (out is then undefined).
    @inlinable
    public static func solveRow(gram g: UnsafePointer<Float>, table y: UnsafePointer<Float>, d: Int,
                                indices: UnsafePointer<Int32>?, weights: UnsafePointer<Float>?, count: Int,
                                alpha: Float, unobservedWeight: Float, objective: Objective = .wals, regularization: Float = 0,
                                multipliers: UnsafePointer<Float>? = nil,
                                scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) -> Bool {
        let a = scratch
        a.update(from: g, count: d * d)
        out.update(repeating: 0, count: d)
        if objective == .alsWR, let weights {
            let shift = perPositive(regularization, UnsafeBufferPointer(start: weights, count: count))
            for i in 0..<d { a[i * d + i] += shift }
        }
        if count > 0, let indices, let weights {
            for k in 0..<count {
                // Rows arrive in random order: fetch a few ahead so their loads overlap.
                if k + 4 < count { unfold_prefetch_range(y + Int(indices[k + 4]) * d, d * 4) }
                let v = y + Int(indices[k]) * d
                let m = multipliers?[k] ?? 1
                let extra = m * confidence(weights[k], alpha: alpha) - unobservedWeight
                // A += (c − w0) v vᵀ ; b += c p v
                if extra != 0 {
                    for row in 0..<d where v[row] != 0 { axpy(extra * v[row], v, a + row * d, d) }
                }
                axpy(m * target(weights[k], alpha: alpha, objective: objective), v, out, d)
            }
        }
        return choleskySolve(a, out, d)
    }
}
