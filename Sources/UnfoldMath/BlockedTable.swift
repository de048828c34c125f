/// An n×d table re-laid for scoring: items in blocks of 16, and within a block, for each
/// dimension j, the 16 items' j-th components side by side. Scoring a block is then
/// `Σ_j q[j] · block[j]` on SIMD16 registers: d fused multiply-adds for 16 scores and no
/// horizontal sums, where a row-by-row scan needs one reduction per item.
public struct BlockedTable: Sendable {
    public let rows: Int
    public let cols: Int
    /// ⌈rows/16⌉ blocks of cols × 16 floats; padding rows are zero.
    public let storage: [Float]

    public init(_ table: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        let blocks = (rows + 15) / 16
        var s = [Float](repeating: 0, count: blocks * cols * 16)
        for r in 0..<rows {
            let block = r / 16, lane = r % 16
            for j in 0..<cols { s[(block * cols + j) * 16 + lane] = table[r * cols + j] }
        }
        storage = s
    }

    /// scores[r] = row r · q for every row.
    public func scores(_ q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let blocks = (rows + 15) / 16
        storage.withUnsafeBufferPointer { base in
            let raw = UnsafeRawPointer(base.baseAddress!)
            for b in 0..<blocks {
                // Four independent accumulator chains keep both FMA units busy.
                var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
                let blockStart = b * cols * 16 * 4
                var j = 0
                while j + 3 < cols {
                    acc0 = acc0.addingProduct(SIMD16<Float>(repeating: q[j]), raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self))
                    acc1 = acc1.addingProduct(SIMD16<Float>(repeating: q[j + 1]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 1) * 64, as: SIMD16<Float>.self))
                    acc2 = acc2.addingProduct(SIMD16<Float>(repeating: q[j + 2]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 2) * 64, as: SIMD16<Float>.self))
                    acc3 = acc3.addingProduct(SIMD16<Float>(repeating: q[j + 3]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 3) * 64, as: SIMD16<Float>.self))
                    j += 4
                }
                while j < cols {
                    acc0 = acc0.addingProduct(SIMD16<Float>(repeating: q[j]), raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self))
                    j += 1
                }
                let sum = (acc0 + acc1) + (acc2 + acc3)
                let count = min(16, rows - b * 16)
                if count == 16 {
                    UnsafeMutableRawPointer(out + b * 16).storeBytes(of: sum, as: SIMD16<Float>.self)
                } else {
                    for lane in 0..<count { out[b * 16 + lane] = sum[lane] }
                }
            }
        }
    }
}
