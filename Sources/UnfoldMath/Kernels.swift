@_exported import CPrefetch

// Dense Float32 kernels on raw pointers. SIMD16 with several accumulators hides the
// latency of the adds; the tail is done one element at a time.

/// x · y = Σ x[i] y[i]
@inlinable @inline(__always)
public func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    while i + 64 <= n {
        a0 += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        a1 += rx.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self)
        a2 += rx.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self)
        a3 += rx.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self)
        i += 64
    }
    while i + 16 <= n {
        a0 += rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    var sum = ((a0 + a1) + (a2 + a3)).sum()
    while i < n {
        sum += x[i] * y[i]
        i += 1
    }
    return sum
}

/// Σ x[i]^2
@inlinable
public func sumOfSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
    dot(x, x, n)
}

/// y ← y + alpha · x
@inlinable @inline(__always)
public func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let a = SIMD16<Float>(repeating: alpha)
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    while i + 16 <= n {
        let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) + a * rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        y[i] += alpha * x[i]
        i += 1
    }
}

/// x ← alpha · x
@inlinable @inline(__always)
public func scale(_ alpha: Float, _ x: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { x[i] *= alpha }
}

/// scores[r] = M[r] · q for every row r of an n×d row-major table: one pass over the table.
@inlinable
public func matrixVector(_ table: UnsafePointer<Float>, rows: Int, cols: Int, _ q: UnsafePointer<Float>, into scores: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        scores[r] = dot(table + r * cols, q, cols)
    }
}
