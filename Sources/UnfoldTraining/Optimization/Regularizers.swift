import UnfoldMath

/// Regularizers of embedding tables beyond L2.
public enum Regularizers {
    /// Gravity (Krichene et al. 2018): the mean squared score over every (user, item) pair,
    ///
    ///     G(U, V) = 1/(|U||V|) Σ_u Σ_i (u·v_i)² = 1/(|U||V|) Σ_jk (UᵀU)_jk (VᵀV)_jk,
    ///
    /// computed through the two d×d Gram matrices, never the |U|×|V| score matrix. It pulls
    /// every score toward 0, as the unobserved weight of WALS does, without sampling.
    public static func gravity(users: Matrix, items: Matrix) -> Double {
        gravity(userGram: gram(users), itemGram: gram(items), users: users.rows, items: items.rows)
    }

    public static func gravity(userGram: [Float], itemGram: [Float], users: Int, items: Int) -> Double {
        guard users > 0, items > 0 else { return 0 }
        var sum = 0.0
        for k in 0..<userGram.count { sum += Double(userGram[k]) * Double(itemGram[k]) }
        return sum / (Double(users) * Double(items))
    }

    /// ∂G/∂u = 2/(|U||V|) (VᵀV) u for one row u (and symmetrically for an item with UᵀU),
    /// written into `out`.
    public static func gravityGradient(row: UnsafePointer<Float>, otherGram: UnsafePointer<Float>, d: Int, scale: Float, into out: UnsafeMutablePointer<Float>) {
        for j in 0..<d { out[j] = scale * dot(otherGram + j * d, row, d) }
    }
}

extension Regularizers {
    /// The stable-rank regularizer on a set of rows (after Loveland et al., WWW 2025):
    ///
    ///     R(E) = −γ · srank(Ê) / d,   Ê = E with rows scaled to unit length,
    ///     srank(Ê) = ‖Ê‖_F² / σ_max(Ê)² = m / σ²   (m unit rows)
    ///
    /// Minimizing R raises the stable rank, spreading the rows over more directions. With v the
    /// top right singular vector of Ê, ∂σ²/∂ê_r = 2 (ê_r·v) v, so
    ///
    ///     ∂R/∂ê_r = (2γm / (d σ⁴)) (ê_r·v) v,
    ///
    /// and through the normalization ∂R/∂e_r = (g − (g·ê_r) ê_r) / ‖e_r‖. Returns R and the
    /// gradient of every row (m×d, row-major).
    public static func stableRank(rows: [UnsafePointer<Float>], d: Int, weight gamma: Float) -> (value: Float, gradients: [Float]) {
        let m = rows.count
        guard m > 1 else { return (0, [Float](repeating: 0, count: m * d)) }
        var unit = Matrix(rows: m, cols: d)
        var norms = [Float](repeating: 0, count: m)
        for (r, row) in rows.enumerated() {
            norms[r] = max(sumOfSquares(row, d).squareRoot(), 1e-12)
            for j in 0..<d { unit.storage[r * d + j] = row[j] / norms[r] }
        }
        let g = gram(unit, threads: 1)
        // Top eigenvector of ÊᵀÊ by power iteration: σ² and v.
        var v = [Float](repeating: 1 / Float(d).squareRoot(), count: d)
        var sigma2: Float = 0
        for _ in 0..<50 {
            var w = [Float](repeating: 0, count: d)
            g.withUnsafeBufferPointer { gp in v.withUnsafeBufferPointer { vp in for i in 0..<d { w[i] = dot(gp.baseAddress! + i * d, vp.baseAddress!, d) } } }
            let norm = w.withUnsafeBufferPointer { sumOfSquares($0.baseAddress!, d) }.squareRoot()
            guard norm > 0 else { break }
            let converged = abs(norm - sigma2) <= 1e-6 * norm
            sigma2 = norm
            v = w.map { $0 / norm }
            if converged { break }
        }
        guard sigma2 > 0 else { return (0, [Float](repeating: 0, count: m * d)) }
        let value = -gamma * Float(m) / sigma2 / Float(d)
        let coefficient = 2 * gamma * Float(m) / (Float(d) * sigma2 * sigma2)
        var gradients = [Float](repeating: 0, count: m * d)
        unit.storage.withUnsafeBufferPointer { u in
            v.withUnsafeBufferPointer { vp in
                for r in 0..<m {
                    let e = u.baseAddress! + r * d
                    let projection = dot(e, vp.baseAddress!, d)
                    // g = c (ê·v) v; then remove the radial part and undo the scaling.
                    var radial: Float = 0
                    for j in 0..<d { radial += coefficient * projection * vp[j] * e[j] }
                    for j in 0..<d { gradients[r * d + j] = (coefficient * projection * vp[j] - radial * e[j]) / norms[r] }
                }
            }
        }
        return (value, gradients)
    }
}
