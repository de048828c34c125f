@_exported import CPrefetch

// Dense Float32 kernels on raw pointers. SIMD16 with several accumulators hides the
// latency of the adds; the tail is done one element at a time. Products are accumulated
// with `addingProduct` (one fused multiply-add; `acc += x * y` is a multiply and an add,
// which Swift does not contract).

/// x · y = Σ x[i] y[i]
@inlinable @inline(__always)
public func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    while i + 64 <= n {
        a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
        a1 = a1.addingProduct(rx.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: (i + 16) * 4, as: SIMD16<Float>.self))
        a2 = a2.addingProduct(rx.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: (i + 32) * 4, as: SIMD16<Float>.self))
        a3 = a3.addingProduct(rx.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: (i + 48) * 4, as: SIMD16<Float>.self))
        i += 64
    }
    while i + 16 <= n {
        a0 = a0.addingProduct(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self), ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
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
        let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self).addingProduct(a, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
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

/// out = vᵀ M for a rows×cols row-major M (out[c] = Σ_r v[r] M[r][c]): blocks of 64 columns
/// accumulate in four SIMD16 registers over all rows, so `out` is written once and no
/// horizontal sums are needed. For a symmetric M this is M v.
@inlinable
public func vectorMatrix(_ v: UnsafePointer<Float>, _ m: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    let rm = UnsafeRawPointer(m), ro = UnsafeMutableRawPointer(out)
    var c = 0
    while c + 64 <= cols {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        for r in 0..<rows {
            let coefficient = SIMD16<Float>(repeating: v[r])
            let base = (r * cols + c) * 4
            a0 = a0.addingProduct(coefficient, rm.loadUnaligned(fromByteOffset: base, as: SIMD16<Float>.self))
            a1 = a1.addingProduct(coefficient, rm.loadUnaligned(fromByteOffset: base + 64, as: SIMD16<Float>.self))
            a2 = a2.addingProduct(coefficient, rm.loadUnaligned(fromByteOffset: base + 128, as: SIMD16<Float>.self))
            a3 = a3.addingProduct(coefficient, rm.loadUnaligned(fromByteOffset: base + 192, as: SIMD16<Float>.self))
        }
        ro.storeBytes(of: a0, toByteOffset: c * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: a1, toByteOffset: (c + 16) * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: a2, toByteOffset: (c + 32) * 4, as: SIMD16<Float>.self)
        ro.storeBytes(of: a3, toByteOffset: (c + 48) * 4, as: SIMD16<Float>.self)
        c += 64
    }
    while c + 16 <= cols {
        var a = SIMD16<Float>()
        for r in 0..<rows { a = a.addingProduct(SIMD16<Float>(repeating: v[r]), rm.loadUnaligned(fromByteOffset: (r * cols + c) * 4, as: SIMD16<Float>.self)) }
        ro.storeBytes(of: a, toByteOffset: c * 4, as: SIMD16<Float>.self)
        c += 16
    }
    while c < cols {
        var a: Float = 0
        for r in 0..<rows { a += v[r] * m[r * cols + c] }
        out[c] = a
        c += 1
    }
}

/// Two `vectorMatrix` products at once (out1 = v1ᵀM, out2 = v2ᵀM): each block of M is
/// loaded once for both, halving the loads that bound the single form.
@inlinable
public func vectorMatrix2(_ v1: UnsafePointer<Float>, _ v2: UnsafePointer<Float>, _ m: UnsafePointer<Float>, rows: Int, cols: Int,
                          into out1: UnsafeMutablePointer<Float>, _ out2: UnsafeMutablePointer<Float>) {
    let rm = UnsafeRawPointer(m), r1 = UnsafeMutableRawPointer(out1), r2 = UnsafeMutableRawPointer(out2)
    var c = 0
    while c + 32 <= cols {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), b0 = SIMD16<Float>(), b1 = SIMD16<Float>()
        for r in 0..<rows {
            let base = (r * cols + c) * 4
            let m0 = rm.loadUnaligned(fromByteOffset: base, as: SIMD16<Float>.self)
            let m1 = rm.loadUnaligned(fromByteOffset: base + 64, as: SIMD16<Float>.self)
            let x = SIMD16<Float>(repeating: v1[r]), y = SIMD16<Float>(repeating: v2[r])
            a0 = a0.addingProduct(x, m0)
            a1 = a1.addingProduct(x, m1)
            b0 = b0.addingProduct(y, m0)
            b1 = b1.addingProduct(y, m1)
        }
        r1.storeBytes(of: a0, toByteOffset: c * 4, as: SIMD16<Float>.self)
        r1.storeBytes(of: a1, toByteOffset: (c + 16) * 4, as: SIMD16<Float>.self)
        r2.storeBytes(of: b0, toByteOffset: c * 4, as: SIMD16<Float>.self)
        r2.storeBytes(of: b1, toByteOffset: (c + 16) * 4, as: SIMD16<Float>.self)
        c += 32
    }
    if c < cols {
        // The remaining columns, one vector at a time.
        for (v, out) in [(v1, out1), (v2, out2)] {
            for column in c..<cols {
                var a: Float = 0
                for r in 0..<rows { a += v[r] * m[r * cols + column] }
                out[column] = a
            }
        }
    }
}
