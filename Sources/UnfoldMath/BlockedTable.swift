import Dispatch

/// An n×d table re-laid for the retrieval scan: items in blocks of 16, and within a block the
/// 16 items' components side by side, so scoring a block is d fused multiply-adds for 16
/// scores with no horizontal sums.
///
/// Two precisions. A table that fits in a core's cache (`float32Limit` floats) keeps Float32
/// components (for each dimension j, a SIMD16 of the 16 items' j-th components) and its scan
/// is exact. A larger table, whose scan is bound by memory bandwidth, is kept in bfloat16,
/// half the bytes (measured: 1.25× the requests/s on a 931,624 × 64 table), and made exact
/// by a rescan of the few candidates:
///
/// bfloat16 layout: for each pair of dimensions (2p, 2p+1),
/// one SIMD16<UInt32> whose lane l holds item l's two components as bfloat16 (the upper
/// 16 bits of a Float32, rounded to nearest even): component 2p in the low half, 2p+1 in
/// the high half; widening is a shift or a mask.
///
/// Exactness: bfloat16 keeps 8 significant bits, so an approximate score a_i differs from
/// the exact q·v_i. For every row the table keeps r_i = ‖v_i − h_i‖ + 2γ‖v_i‖ (h_i the
/// rounded row, γ = d·2⁻²⁴ for the Float32 sums of either computation), so that
/// |a_i − q·v_i| ≤ ‖q‖ r_i by Cauchy–Schwarz. `topK` takes T = the k-th largest lower bound
/// a_i − ‖q‖r_i, rescans exactly (Float32, from the original table) only the items whose
/// upper bound a_i + ‖q‖r_i reaches T, and returns their exact top k: an item outside that
/// set scores below k others, so the answer is the exact scan's.
public struct BlockedTable: Sendable {
    public enum Precision: Sendable { case float32, bfloat16 }
    /// Tables up to this many floats (4 MB) keep Float32.
    public static let float32Limit = 1 << 20

    public let rows: Int
    public let cols: Int
    public let precision: Precision
    /// ⌈cols/2⌉ column pairs per block.
    let pairs: Int
    /// ⌈rows/16⌉ blocks of 16 lanes: Float32 bit patterns (cols × 16 per block) or packed
    /// bfloat16 pairs (`pairs` × 16 per block); padding rows and columns are zero.
    public let storage: [UInt32]
    /// r_i per row (bfloat16 only; see above).
    public let slack: [Float]

    /// `precision` nil: Float32 up to `float32Limit` floats, else bfloat16.
    public init(_ table: UnsafePointer<Float>, rows: Int, cols: Int, precision: Precision? = nil) {
        self.rows = rows
        self.cols = cols
        let pairs = (cols + 1) / 2
        self.pairs = pairs
        let blocks = (rows + 15) / 16
        var precision = precision ?? (rows * cols <= Self.float32Limit ? .float32 : .bfloat16)
        // bfloat16 rounds values within 2⁻⁸ of Float.greatestFiniteMagnitude to infinity; such
        // a table (never a trained one) keeps Float32.
        if precision == .bfloat16 {
            let limit: Float = 0x1.FEp127
            for i in 0..<(rows * cols) where !(abs(table[i]) < limit) {
                precision = .float32
                break
            }
        }
        self.precision = precision
        // Blocks are independent: both cores lay them out, a range of blocks each.
        let threads = max(1, min(defaultThreadCount, blocks / 64))
        if precision == .float32 {
            storage = [UInt32](unsafeUninitializedCapacity: blocks * cols * 16) { out, count in
                out.initialize(repeating: 0)
                let o = out.baseAddress!
                DispatchQueue.concurrentPerform(iterations: threads) { c in
                    for r in (c * blocks / threads * 16)..<min(rows, (c + 1) * blocks / threads * 16) {
                        let block = r / 16, lane = r % 16
                        for j in 0..<cols { o[(block * cols + j) * 16 + lane] = table[r * cols + j].bitPattern }
                    }
                }
                count = blocks * cols * 16
            }
            slack = []
            return
        }
        let gamma = 2 * Double(cols) * 0x1p-24
        var slack = [Float](repeating: 0, count: rows)
        storage = slack.withUnsafeMutableBufferPointer { slackOut in
            let sl = slackOut.baseAddress
            return [UInt32](unsafeUninitializedCapacity: blocks * pairs * 16) { out, count in
                out.initialize(repeating: 0)
                let o = out.baseAddress!
                DispatchQueue.concurrentPerform(iterations: threads) { c in
                    for r in (c * blocks / threads * 16)..<min(rows, (c + 1) * blocks / threads * 16) {
                        let block = r / 16, lane = r % 16
                        var error2 = 0.0, norm2 = 0.0
                        for j in 0..<cols {
                            let x = table[r * cols + j]
                            let h = Self.bfloat16(x)
                            let rounded = Float(bitPattern: UInt32(h) << 16)
                            error2 += Double(x - rounded) * Double(x - rounded)
                            norm2 += Double(x) * Double(x)
                            o[(block * pairs + j / 2) * 16 + lane] |= UInt32(h) << (j % 2 == 0 ? 0 : 16)
                        }
                        // Rounded up a little so Float arithmetic on the bound cannot make it too tight.
                        sl![r] = Float((error2.squareRoot() + gamma * norm2.squareRoot()) * (1 + 1e-6)).nextUp
                    }
                }
                count = blocks * pairs * 16
            }
        }
        self.slack = slack
    }

    /// The bfloat16 bits of x, rounded to nearest even (x finite).
    @inlinable
    static func bfloat16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// out[r] = row r · q for every row: exact for Float32 tables, h_r · q (bfloat16 rows,
    /// Float32 sums) for bfloat16 ones.
    public func approximateScores(_ q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if precision == .float32 { return exactScores(q, into: out) }
        // The loop reads whole pairs: with odd cols one past the query's end, so such a query
        // is read from a zero-padded copy (0 times the zero padding leaves a sum unchanged).
        if 2 * pairs > cols {
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * pairs) { padded in
                for j in 0..<(2 * pairs) { padded[j] = j < cols ? q[j] : 0 }
                approximateScores(paddedQuery: padded.baseAddress!, into: out)
            }
        }
        approximateScores(paddedQuery: q, into: out)
    }

    private func approximateScores(paddedQuery q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let blocks = (rows + 15) / 16
        storage.withUnsafeBufferPointer { base in
            let raw = UnsafeRawPointer(base.baseAddress!)
            for b in 0..<blocks { store(approximateBlock(raw, block: b, q), block: b, into: out) }
        }
    }

    /// A block's 16 scores into out (fewer for the last, partial block).
    @inline(__always)
    private func store(_ sum: SIMD16<Float>, block b: Int, into out: UnsafeMutablePointer<Float>) {
        let count = min(16, rows - b * 16)
        if count == 16 {
            UnsafeMutableRawPointer(out + b * 16).storeBytes(of: sum, as: SIMD16<Float>.self)
        } else {
            for lane in 0..<count { out[b * 16 + lane] = sum[lane] }
        }
    }

    private func exactScores(_ q: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let blocks = (rows + 15) / 16
        storage.withUnsafeBufferPointer { base in
            let raw = UnsafeRawPointer(base.baseAddress!)
            for b in 0..<blocks { store(exactBlock(raw, block: b, q), block: b, into: out) }
        }
    }

    /// The exact top k of `table` (the n×d Float32 rows this table was built from) for the
    /// query q: scores q·v_i (+ bias[i]), best first, ties by lower index, skipping rows for
    /// which `excluded` is true. One bfloat16 scan, then an exact rescan of the few rows whose
    /// bounds reach the k-th lower bound (see the type's comment).
    public func topK(_ q: UnsafePointer<Float>, table: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil, k: Int,
                     excluded: (Int) -> Bool = { _ in false }) -> [(index: Int, score: Float)] {
        var rescored = 0
        return topK(q, table: table, bias: bias, k: k, rescored: &rescored, excluded: excluded)
    }

    /// The same, counting into `rescored` the rows the exact rescan scored (bfloat16 only).
    public func topK(_ q: UnsafePointer<Float>, table: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil, k: Int, rescored: inout Int,
                     excluded: (Int) -> Bool = { _ in false }) -> [(index: Int, score: Float)] {
        guard k > 0, rows > 0 else { return [] }
        let n = rows, d = cols
        if precision == .float32 {
            // The scan is exact: one pass and a heap.
            return withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { buffer in
                let scores = buffer.baseAddress!
                exactScores(q, into: scores)
                if let bias { for i in 0..<n { scores[i] += bias[i] } }
                return UnfoldMath.topK(UnsafeBufferPointer(start: scores, count: n), k: k, excluded: excluded)
            }
        }
        let qNorm = dot(q, q, d).squareRoot()
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { buffer in
            let approximate = buffer.baseAddress!, lower = approximate + n
            approximateScores(q, into: approximate)
            if let bias { for i in 0..<n { approximate[i] += bias[i] } }
            slack.withUnsafeBufferPointer { r in
                for i in 0..<n { lower[i] = approximate[i] - qNorm * r[i] }
            }
            // T: the k-th largest lower bound among the allowed rows (−∞ with fewer than k).
            let bounds = UnfoldMath.topK(UnsafeBufferPointer(start: lower, count: n), k: k, excluded: excluded)
            let threshold = bounds.count == k ? bounds[k - 1].score : -Float.infinity
            let candidates = slack.withUnsafeBufferPointer { r in
                (0..<n).filter { approximate[$0] + qNorm * r[$0] >= threshold && !excluded($0) }
            }
            rescored = candidates.count
            return exactTopK(candidates, query: q, table: table, d: d, bias: bias, k: k)
        }
    }
}

/// The k best of a few candidate rows, scored exactly (q·v_i + bias[i]): best first, ties by
/// lower index, NaN scores dropped.
public func exactTopK<C: Sequence<Int>>(_ candidates: C, query q: UnsafePointer<Float>, table: UnsafePointer<Float>, d: Int,
                                        bias: UnsafePointer<Float>?, k: Int) -> [(index: Int, score: Float)] {
    var scored: [(index: Int, score: Float)] = []
    scored.reserveCapacity(candidates.underestimatedCount)
    for i in candidates {
        let score = dot(table + i * d, q, d) + (bias?[i] ?? 0)
        if !score.isNaN { scored.append((index: i, score: score)) }
    }
    scored.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
    if scored.count > k { scored.removeSubrange(k...) }
    return scored
}
