import UnfoldMath

/// The query encoder of a matrix-factorization model: the least-squares user vector
/// for a set of interactions, the same step WALS runs for every user:
///
///     (w0 VᵀV + λI + Σ_i (c_i − w0) v_i v_iᵀ) q = Σ_i c_i v_i,   c_i = 1 + α r_i
///
/// `gram` holds w0 VᵀV + λI, computed once per model.
public struct FoldIn: Sendable, Equatable {
    public var alpha: Float
    public var unobservedWeight: Float
    public var regularization: Float
    public var dimensions: Int
    /// w0 VᵀV + λI, d×d row-major.
    public var gram: [Float]

    public init(alpha: Float, unobservedWeight: Float, regularization: Float, gram: [Float]) {
        self.alpha = alpha
        self.unobservedWeight = unobservedWeight
        self.regularization = regularization
        self.dimensions = Int(Double(gram.count).squareRoot())
        self.gram = gram
        precondition(dimensions * dimensions == gram.count, "gram must be square")
    }

    /// Builds the Gram term from an item table.
    public init(items: Matrix, alpha: Float, unobservedWeight: Float, regularization: Float) {
        var g = UnfoldMath.gram(items)
        let d = items.cols
        for i in 0..<(d * d) { g[i] *= unobservedWeight }
        for i in 0..<d { g[i * d + i] += regularization }
        self.init(alpha: alpha, unobservedWeight: unobservedWeight, regularization: regularization, gram: g)
    }

    /// The confidence of an observed weight r: c = 1 + α r.
    @inlinable
    public func confidence(_ weight: Float) -> Float { 1 + alpha * weight }

    /// Encodes interactions (item row indices with weights) against `items` (n×d, row-major).
    /// `scratch` must hold d*d + d floats; the result is written to `out` (d floats).
    /// Returns false when the system is not positive definite (λ = 0 and too few items).
    public func encode(items: UnsafePointer<Float>, indices: [Int], weights: [Float], scratch: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) -> Bool {
        let d = dimensions
        let a = scratch
        gram.withUnsafeBufferPointer { g in a.update(from: g.baseAddress!, count: d * d) }
        out.update(repeating: 0, count: d)
        for (index, weight) in zip(indices, weights) {
            let v = items + index * d
            let c = confidence(weight)
            let extra = c - unobservedWeight
            // A += (c − w0) v vᵀ ; b += c v
            if extra != 0 {
                for row in 0..<d where v[row] != 0 {
                    axpy(extra * v[row], v, a + row * d, d)
                }
            }
            axpy(c, v, out, d)
        }
        return choleskySolve(a, out, d)
    }

    /// Convenience for tests and tools: returns q or nil.
    public func encode(items: Matrix, indices: [Int], weights: [Float]) -> [Float]? {
        let d = dimensions
        var scratch = [Float](repeating: 0, count: d * d)
        var q = [Float](repeating: 0, count: d)
        let ok = items.storage.withUnsafeBufferPointer { table in
            scratch.withUnsafeMutableBufferPointer { s in
                q.withUnsafeMutableBufferPointer { o in
                    encode(items: table.baseAddress!, indices: indices, weights: weights, scratch: s.baseAddress!, out: o.baseAddress!)
                }
            }
        }
        return ok ? q : nil
    }
}
