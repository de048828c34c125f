/// Eigenvalues of a symmetric d×d matrix by cyclic Jacobi rotations, largest first.
/// Double precision inside; meant for small d (the factor count).
public func symmetricEigenvalues(_ matrix: [Float], dimension d: Int, sweeps: Int = 50) -> [Double] {
    var a = matrix.map(Double.init)
    for _ in 0..<sweeps {
        var off = 0.0
        for p in 0..<d { for q in (p + 1)..<max(p + 1, d) { off += a[p * d + q] * a[p * d + q] } }
        if off < 1e-22 { break }
        for p in 0..<d {
            for q in (p + 1)..<max(p + 1, d) where abs(a[p * d + q]) > 1e-300 {
                // Rotation that zeroes a[p][q]: tan(2θ) = 2 a_pq / (a_qq − a_pp).
                let theta = (a[q * d + q] - a[p * d + p]) / (2 * a[p * d + q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<d {
                    let akp = a[k * d + p], akq = a[k * d + q]
                    a[k * d + p] = c * akp - s * akq
                    a[k * d + q] = s * akp + c * akq
                }
                for k in 0..<d {
                    let apk = a[p * d + k], aqk = a[q * d + k]
                    a[p * d + k] = c * apk - s * aqk
                    a[q * d + k] = s * apk + c * aqk
                }
            }
        }
    }
    return (0..<d).map { a[$0 * d + $0] }.sorted(by: >)
}

/// Singular values of an n×d matrix, largest first: square roots of the eigenvalues of EᵀE.
public func singularValues(_ e: Matrix) -> [Double] {
    symmetricEigenvalues(gram(e), dimension: e.cols).map { max($0, 0).squareRoot() }
}
