import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The number of threads parallel kernels use: the online processor count.
public let defaultThreadCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

/// G = Mᵀ M (d×d, symmetric) for an n×d matrix: rank-one updates G += m_r m_rᵀ over
/// row chunks in parallel, each chunk into its own d×d block, then the blocks are summed.
public func gram(_ m: Matrix, threads: Int = defaultThreadCount) -> [Float] {
    let d = m.cols
    let chunks = max(1, min(threads, m.rows / 256 + 1))
    let partial = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunks * d * d)
    partial.initialize(repeating: 0)
    defer { partial.deallocate() }
    m.storage.withUnsafeBufferPointer { buffer in
        let base = buffer.baseAddress!
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let g = partial.baseAddress! + chunk * d * d
            let start = chunk * m.rows / chunks, end = (chunk + 1) * m.rows / chunks
            for r in start..<end {
                let row = base + r * d
                for i in 0..<d where row[i] != 0 {
                    axpy(row[i], row, g + i * d, d)
                }
            }
        }
    }
    var result = [Float](repeating: 0, count: d * d)
    result.withUnsafeMutableBufferPointer { out in
        for chunk in 0..<chunks { axpy(1, partial.baseAddress! + chunk * d * d, out.baseAddress!, d * d) }
    }
    return result
}
