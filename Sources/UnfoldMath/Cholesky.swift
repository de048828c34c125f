/// Solves A x = b for a symmetric positive definite d×d matrix A (row-major) by the
/// Cholesky factorization A = UᵀU (U upper triangular), then Uᵀ y = b and U x = y.
///
/// Row-oriented right-looking form: once row k of U is known,
///     U[k][k] = √A[k][k],  U[k][j] = A[k][j] / U[k][k]  (j > k)
///     A[i][j] −= U[k][i] · U[k][j]                        (k < i ≤ j)
/// so every inner loop is an axpy over a contiguous row segment (no horizontal sums).
/// A is overwritten (U in its upper triangle). Returns false if A is not positive definite.
@inlinable
public func choleskySolve(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ d: Int) -> Bool {
    guard choleskyFactor(a, d) else { return false }
    choleskySubstitute(a, b, d)
    return true
}

/// The factorization step of `choleskySolve`: U in the upper triangle of `a`.
@inlinable
public func choleskyFactor(_ a: UnsafeMutablePointer<Float>, _ d: Int) -> Bool {
    for k in 0..<d {
        let rowK = a + k * d
        let pivot = rowK[k]
        if !(pivot > 0) { return false }
        let ukk = pivot.squareRoot()
        rowK[k] = ukk
        let inverse = 1 / ukk
        let tail = d - k - 1
        if tail == 0 { break }
        scale(inverse, rowK + k + 1, tail)
        for i in (k + 1)..<d {
            let uki = rowK[i]
            if uki != 0 {
                // Row i from column i on: A[i][i...] −= U[k][i] · U[k][i...]
                axpy(-uki, rowK + i, a + i * d + i, d - i)
            }
        }
    }
    return true
}

/// Solves UᵀU x = b in place, with U from `choleskyFactor`.
@inlinable
public func choleskySubstitute(_ a: UnsafePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ d: Int) {
    // Uᵀ y = b: y[i] = (b[i] − Σ_{k<i} U[k][i] y[k]) / U[i][i], as axpys over rows of U.
    for k in 0..<d {
        let rowK = a + k * d
        b[k] /= rowK[k]
        let yk = b[k]
        if k + 1 < d && yk != 0 { axpy(-yk, rowK + k + 1, b + k + 1, d - k - 1) }
    }
    // U x = y: x[i] = (y[i] − Σ_{j>i} U[i][j] x[j]) / U[i][i]
    var i = d - 1
    while i >= 0 {
        let rowI = a + i * d
        let s = i + 1 < d ? dot(rowI + i + 1, b + i + 1, d - i - 1) : 0
        b[i] = (b[i] - s) / rowI[i]
        i -= 1
    }
}

/// The inverse of a symmetric positive definite d×d matrix (row-major), or nil: one
/// factorization, then d substitutions (d³ in all).
public func choleskyInverse(_ a: [Float], _ d: Int) -> [Float]? {
    var factor = a
    var inverse = [Float](repeating: 0, count: d * d)
    let ok = factor.withUnsafeMutableBufferPointer { f -> Bool in
        guard choleskyFactor(f.baseAddress!, d) else { return false }
        var column = [Float](repeating: 0, count: d)
        for k in 0..<d {
            for j in 0..<d { column[j] = j == k ? 1 : 0 }
            column.withUnsafeMutableBufferPointer { choleskySubstitute(f.baseAddress!, $0.baseAddress!, d) }
            // Symmetric: column k is row k.
            for j in 0..<d { inverse[k * d + j] = column[j] }
        }
        return true
    }
    return ok ? inverse : nil
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
