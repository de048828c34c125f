/// Solves A x = b in place by Gaussian elimination with partial pivoting, for a square
/// system that need not be positive definite (a symmetric indefinite one, say): `a` (n×n,
/// row-major) is destroyed, `b` becomes x. Returns false when a pivot vanishes (singular).
public func luSolve(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ n: Int) -> Bool {
    for col in 0..<n {
        var pivot = col
        var largest = abs(a[col * n + col])
        for row in (col + 1)..<max(col + 1, n) where abs(a[row * n + col]) > largest {
            largest = abs(a[row * n + col])
            pivot = row
        }
        guard largest > 0, largest.isFinite else { return false }
        if pivot != col {
            for k in 0..<n { swap(&a[col * n + k], &a[pivot * n + k]) }
            swap(&b[col], &b[pivot])
        }
        let inverse = 1 / a[col * n + col]
        for row in (col + 1)..<max(col + 1, n) {
            let factor = a[row * n + col] * inverse
            if factor == 0 { continue }
            for k in col..<n { a[row * n + k] -= factor * a[col * n + k] }
            b[row] -= factor * b[col]
        }
    }
    for row in stride(from: n - 1, through: 0, by: -1) {
        var sum = b[row]
        for k in (row + 1)..<max(row + 1, n) { sum -= a[row * n + k] * b[k] }
        b[row] = sum / a[row * n + row]
    }
    return (0..<n).allSatisfy { b[$0].isFinite }
}
