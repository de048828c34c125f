/// Solves A x = b for a symmetric positive definite d×d matrix A (row-major) by
/// Cholesky factorization A = L Lᵀ, then forward and back substitution.
/// A is overwritten with L in its lower triangle. Returns false if A is not
/// positive definite (a non-positive pivot).
@inlinable
public func choleskySolve(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ d: Int) -> Bool {
    // L[j][j] = sqrt(A[j][j] - Σ_k<j L[j][k]^2); L[i][j] = (A[i][j] - Σ_k<j L[i][k] L[j][k]) / L[j][j]
    for j in 0..<d {
        let rowJ = a + j * d
        var pivot = rowJ[j] - dot(rowJ, rowJ, j)
        if !(pivot > 0) { return false }
        pivot = pivot.squareRoot()
        rowJ[j] = pivot
        let inverse = 1 / pivot
        for i in (j + 1)..<max(j + 1, d) {
            let rowI = a + i * d
            rowI[j] = (rowI[j] - dot(rowI, rowJ, j)) * inverse
        }
    }
    // L y = b
    for i in 0..<d {
        b[i] = (b[i] - dot(a + i * d, b, i)) / a[i * d + i]
    }
    // Lᵀ x = y
    var i = d - 1
    while i >= 0 {
        var s = b[i]
        for k in (i + 1)..<max(i + 1, d) { s -= a[k * d + i] * b[k] }
        b[i] = s / a[i * d + i]
        i -= 1
    }
    return true
}

/// Convenience: solves A x = b on copies, returning x or nil when A is not positive definite.
public func choleskySolve(_ a: [Float], _ b: [Float]) -> [Float]? {
    var a = a, x = b
    let d = b.count
    precondition(a.count == d * d)
    let ok = a.withUnsafeMutableBufferPointer { ap in
        x.withUnsafeMutableBufferPointer { xp in choleskySolve(ap.baseAddress!, xp.baseAddress!, d) }
    }
    return ok ? x : nil
}
