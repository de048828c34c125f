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
