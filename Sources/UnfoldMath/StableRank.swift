/// The largest eigenvalue of a symmetric positive semidefinite d×d matrix by power
/// iteration (deterministic start vector).
public func largestEigenvalue(symmetric g: [Float], dimension d: Int, iterations: Int = 100) -> Float {
    guard d > 0 else { return 0 }
    var v = [Float](repeating: 1 / Float(d).squareRoot(), count: d)
    var w = [Float](repeating: 0, count: d)
    var lambda: Float = 0
    for _ in 0..<iterations {
        g.withUnsafeBufferPointer { gp in
            v.withUnsafeBufferPointer { vp in
                for i in 0..<d { w[i] = dot(gp.baseAddress! + i * d, vp.baseAddress!, d) }
            }
        }
        let norm = w.withUnsafeBufferPointer { sumOfSquares($0.baseAddress!, d) }.squareRoot()
        guard norm > 0 else { return 0 }
        let next = norm
        for i in 0..<d { v[i] = w[i] / norm }
        if abs(next - lambda) <= 1e-6 * next { return next }
        lambda = next
    }
    return lambda
}

/// srank(E) = ‖E‖_F² / ‖E‖₂²: the squared Frobenius norm over the largest squared
/// singular value, which is the largest eigenvalue of the Gram matrix EᵀE.
/// It lies in [1, rank(E)]; 0 for the zero matrix.
public func stableRank(_ e: Matrix) -> Float {
    let g = gram(e)
    let sigmaMaxSquared = largestEigenvalue(symmetric: g, dimension: e.cols)
    guard sigmaMaxSquared > 0 else { return 0 }
    return e.frobeniusNormSquared / sigmaMaxSquared
}
