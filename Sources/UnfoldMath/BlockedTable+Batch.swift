import Dispatch

/// Many queries in one pass over the table: a small GEMM against the blocked layout, with the
/// top-k selection fused into the scan.
///
/// For each block of 16 items, the block's item lanes (4 KB in Float32, 2 KB in bfloat16, so
/// in L1) are multiplied into 4 queries' accumulators at a time: one load of an item vector
/// (and its bfloat16 widening) serves 4 queries' fused multiply-adds, and the table is read
/// from memory once per batch instead of once per query.
///
/// Bit for bit the single-query scan: each lane's score is the same sum in the same order.
/// The single scan runs four accumulator chains, chain m taking the dimensions j ≡ m (mod 4)
/// (the Float32 tail goes to chain 0) and adds them as (c0 + c1) + (c2 + c3); the batched
/// kernel runs the four chains one after the other for a tile of 4 queries (8 independent
/// registers, as the single scan has), keeps their partial sums and adds them the same way.
///
/// The selection is fused: per query a `ScoreHeap` of the exact scores (Float32), or of the
/// lower bounds a_i − ‖q‖r_i (bfloat16) with the items whose upper bound reaches the running
/// k-th lower bound kept as candidates. The running bound only rises, so the candidates kept
/// are a superset of those `topK`'s final threshold T admits; at the end they are cut to T and
/// rescanned exactly, as `topK` does, so the answer, and the rescanned set, are `topK`'s.
/// Both cores scan a range of blocks each; the heaps order ties by index, so the ranges'
/// heaps merge into the whole table's.
extension BlockedTable {
    /// One query of a batch: its vector (`cols` floats), k, and the rows it must not return.
    public struct Query {
        public let vector: UnsafePointer<Float>
        public let k: Int
        public let excluded: (Int) -> Bool

        public init(vector: UnsafePointer<Float>, k: Int, excluded: @escaping (Int) -> Bool = { _ in false }) {
            self.vector = vector
            self.k = k
            self.excluded = excluded
        }
    }

    /// For each query, what `topK(q, table:bias:k:rescored:excluded:)` returns (the same items
    /// and scores in the same order) and the rows it rescanned, from one pass over the table.
    /// `parts`: how many ranges of blocks the pass is split into, one per core (nil: one per
    /// core for tables of 2048 blocks a core or more, else one).
    public func topK(_ queries: [Query], table: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                     parts: Int? = nil) -> [(items: [(index: Int, score: Float)], rescored: Int)] {
        let b = queries.count
        guard b > 0 else { return [] }
        guard rows > 0 else { return Array(repeating: ([], 0), count: b) }
        let blocks = (rows + 15) / 16
        // Queries copied with zero padding: the bfloat16 kernel reads whole pairs.
        let stride = 2 * pairs + 4
        var padded = [Float](repeating: 0, count: b * stride)
        var norms = [Float](repeating: 0, count: b)
        for (t, query) in queries.enumerated() {
            for j in 0..<cols { padded[t * stride + j] = query.vector[j] }
            if precision == .bfloat16 { norms[t] = dot(query.vector, query.vector, cols).squareRoot() }
        }
        // Below a few thousand blocks a second thread costs more than it saves.
        let parts = max(1, min(parts ?? min(defaultThreadCount, blocks / 2048), blocks))
        let partials = UnsafeMutablePointer<[QueryScan]>.allocate(capacity: parts)
        defer {
            partials.deinitialize(count: parts)
            partials.deallocate()
        }
        padded.withUnsafeBufferPointer { qp in
            norms.withUnsafeBufferPointer { np in
                storage.withUnsafeBufferPointer { base in
                    slack.withUnsafeBufferPointer { sl in
                        let q = qp.baseAddress!, qNorm = np.baseAddress!, slackBase = sl.baseAddress
                        let raw = UnsafeRawPointer(base.baseAddress!)
                        DispatchQueue.concurrentPerform(iterations: parts) { c in
                            var states = queries.map { QueryScan(k: $0.k) }
                            scan(blocks: (c * blocks / parts)..<((c + 1) * blocks / parts), raw: raw, queries: queries, padded: q,
                                 stride: stride, qNorm: qNorm, slack: slackBase, bias: bias, states: &states)
                            (partials + c).initialize(to: states)
                        }
                    }
                }
            }
        }
        return (0..<b).map { t in
            let query = queries[t]
            guard query.k > 0 else { return ([], 0) }
            var merged: [(index: Int, score: Float)] = []
            for c in 0..<parts { merged += partials[c][t].heap.sorted() }
            merged.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            if precision == .float32 { return (Array(merged.prefix(query.k)), 0) }
            // T: the k-th largest lower bound (−∞ with fewer than k allowed rows).
            let threshold = merged.count >= query.k ? merged[query.k - 1].score : -Float.infinity
            var candidates: [Int] = []
            for c in 0..<parts {
                let scan = partials[c][t]
                for (i, upper) in zip(scan.candidates, scan.uppers) where upper >= threshold { candidates.append(i) }
            }
            return (exactTopK(candidates, query: query.vector, table: table, d: cols, bias: bias, k: query.k), candidates.count)
        }
    }

    /// One query's selection state in one range of blocks.
    struct QueryScan {
        /// Exact scores (Float32) or lower bounds (bfloat16).
        var heap: ScoreHeap
        /// bfloat16: rows whose upper bound reached the running k-th lower bound, and those bounds.
        var candidates: [Int] = []
        var uppers: [Float] = []

        init(k: Int) { heap = ScoreHeap(k: max(k, 0)) }
    }

    /// Scores `blocks` for every query, a tile of 4 queries at a time, and offers each block's
    /// scores to the queries' selections.
    private func scan(blocks: Range<Int>, raw: UnsafeRawPointer, queries: [Query], padded q: UnsafePointer<Float>, stride: Int,
                      qNorm: UnsafePointer<Float>, slack: UnsafePointer<Float>?, bias: UnsafePointer<Float>?, states: inout [QueryScan]) {
        let b = queries.count
        let sums = UnsafeMutablePointer<SIMD16<Float>>.allocate(capacity: b + 3)
        defer { sums.deallocate() }
        let float32 = precision == .float32
        let ks = queries.map(\.k)
        // Each query's heap's worst score, −∞ until it is full.
        let worst = UnsafeMutablePointer<Float>.allocate(capacity: b)
        worst.initialize(repeating: -.infinity, count: b)
        defer { worst.deallocate() }
        for block in blocks {
            var t = 0
            while t + 3 < b {
                if float32 {
                    exactTile4(raw, block: block, q + t * stride, stride: stride, into: sums + t)
                } else {
                    approximateTile4(raw, block: block, q + t * stride, stride: stride, into: sums + t)
                }
                t += 4
            }
            while t < b {
                sums[t] = float32 ? exactBlock(raw, block: block, q + t * stride) : approximateBlock(raw, block: block, q + t * stride)
                t += 1
            }
            let first = block * 16, count = min(16, rows - first)
            var biasLanes = SIMD16<Float>()
            if let bias {
                if count == 16 {
                    biasLanes = UnsafeRawPointer(bias + first).loadUnaligned(as: SIMD16<Float>.self)
                } else {
                    for l in 0..<count { biasLanes[l] = bias[first + l] }
                }
            }
            var slackLanes = SIMD16<Float>()
            if let slack {
                if count == 16 {
                    slackLanes = UnsafeRawPointer(slack + first).loadUnaligned(as: SIMD16<Float>.self)
                } else {
                    for l in 0..<count { slackLanes[l] = slack[first + l] }
                }
            }
            for t in 0..<b where ks[t] > 0 {
                let score = bias == nil ? sums[t] : sums[t] + biasLanes
                // Fast rejections in vector arithmetic (Swift's SIMD comparisons build their masks
                // lane by lane): x − w > 0 exactly when x > w, so a block whose differences are all
                // ≤ 0 as integers (or NaN with the sign set) has no score above the worst; the
                // scalar loops below decide every lane they are not sure of.
                if float32 {
                    if unsafeBitCast(score - SIMD16(repeating: worst[t]), to: SIMD16<Int32>.self).max() > 0 {
                        offer(score, first: first, count: count, excluded: queries[t].excluded, to: &states[t].heap)
                        worst[t] = states[t].heap.isFull ? states[t].heap.worstScore : -.infinity
                    }
                } else {
                    // The same Float operations as `topK`: a − ‖q‖r and a + ‖q‖r.
                    let radius = SIMD16(repeating: qNorm[t]) * slackLanes
                    let lower = score - radius
                    if unsafeBitCast(lower - SIMD16(repeating: worst[t]), to: SIMD16<Int32>.self).max() > 0 {
                        offer(lower, first: first, count: count, excluded: queries[t].excluded, to: &states[t].heap)
                        worst[t] = states[t].heap.isFull ? states[t].heap.worstScore : -.infinity
                    }
                    let upper = score + radius
                    // T − u > 0 in every lane: no upper bound reaches the running threshold.
                    if worst[t] > -.infinity && unsafeBitCast(SIMD16(repeating: worst[t]) - upper, to: SIMD16<Int32>.self).min() > 0 { continue }
                    let threshold = worst[t]
                    for l in 0..<count where upper[l] >= threshold && !queries[t].excluded(first + l) {
                        states[t].candidates.append(first + l)
                        states[t].uppers.append(upper[l])
                    }
                }
            }
        }
    }

    /// Offers a block's scores (lanes 0..<count) to a heap, in index order, as `topK` does.
    private func offer(_ scores: SIMD16<Float>, first: Int, count: Int, excluded: (Int) -> Bool, to heap: inout ScoreHeap) {
        for l in 0..<count {
            let s = scores[l]
            if heap.isFull {
                if s > heap.worstScore && !excluded(first + l) { heap.replaceWorst(s, index: first + l) }
            } else if !s.isNaN && !excluded(first + l) {
                heap.push(s, index: first + l)
            }
        }
    }

    /// Float32 block scores of one query: four independent accumulator chains keep both FMA
    /// units busy (the single scan's loop).
    @inline(__always)
    func exactBlock(_ raw: UnsafeRawPointer, block b: Int, _ q: UnsafePointer<Float>) -> SIMD16<Float> {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        let blockStart = b * cols * 64
        var j = 0
        while j + 3 < cols {
            acc0 = acc0.addingProduct(SIMD16(repeating: q[j]), raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self))
            acc1 = acc1.addingProduct(SIMD16(repeating: q[j + 1]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 1) * 64, as: SIMD16<Float>.self))
            acc2 = acc2.addingProduct(SIMD16(repeating: q[j + 2]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 2) * 64, as: SIMD16<Float>.self))
            acc3 = acc3.addingProduct(SIMD16(repeating: q[j + 3]), raw.loadUnaligned(fromByteOffset: blockStart + (j + 3) * 64, as: SIMD16<Float>.self))
            j += 4
        }
        while j < cols {
            acc0 = acc0.addingProduct(SIMD16(repeating: q[j]), raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self))
            j += 1
        }
        return (acc0 + acc1) + (acc2 + acc3)
    }

    /// Float32 block scores of 4 queries (rows `stride` apart), chain by chain.
    @inline(__always)
    private func exactTile4(_ raw: UnsafeRawPointer, block b: Int, _ q: UnsafePointer<Float>, stride: Int, into out: UnsafeMutablePointer<SIMD16<Float>>) {
        let blockStart = b * cols * 64
        let main = cols & ~3
        let q0 = q, q1 = q + stride, q2 = q + 2 * stride, q3 = q + 3 * stride
        var part: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) = (.zero, .zero, .zero, .zero)
        var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>(), sum2 = SIMD16<Float>(), sum3 = SIMD16<Float>()
        for m in 0..<4 {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var j = m
            while j < main {
                let x = raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self)
                a0 = a0.addingProduct(SIMD16(repeating: q0[j]), x)
                a1 = a1.addingProduct(SIMD16(repeating: q1[j]), x)
                a2 = a2.addingProduct(SIMD16(repeating: q2[j]), x)
                a3 = a3.addingProduct(SIMD16(repeating: q3[j]), x)
                j += 4
            }
            if m == 0 {
                for j in main..<cols {
                    let x = raw.loadUnaligned(fromByteOffset: blockStart + j * 64, as: SIMD16<Float>.self)
                    a0 = a0.addingProduct(SIMD16(repeating: q0[j]), x)
                    a1 = a1.addingProduct(SIMD16(repeating: q1[j]), x)
                    a2 = a2.addingProduct(SIMD16(repeating: q2[j]), x)
                    a3 = a3.addingProduct(SIMD16(repeating: q3[j]), x)
                }
            }
            Self.combine(m, a0, a1, a2, a3, &part, &sum0, &sum1, &sum2, &sum3)
        }
        out[0] = sum0; out[1] = sum1; out[2] = sum2; out[3] = sum3
    }

    /// Folds chain m's four accumulators into the tile's sums: after chain 1 each sum holds
    /// c0 + c1, chain 2 is kept aside, and chain 3 adds (c2 + c3), the single scan's order.
    @inline(__always)
    private static func combine(_ m: Int, _ a0: SIMD16<Float>, _ a1: SIMD16<Float>, _ a2: SIMD16<Float>, _ a3: SIMD16<Float>,
                                _ part: inout (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>),
                                _ s0: inout SIMD16<Float>, _ s1: inout SIMD16<Float>, _ s2: inout SIMD16<Float>, _ s3: inout SIMD16<Float>) {
        switch m {
        case 0: s0 = a0; s1 = a1; s2 = a2; s3 = a3
        case 1: s0 = s0 + a0; s1 = s1 + a1; s2 = s2 + a2; s3 = s3 + a3
        case 2: part = (a0, a1, a2, a3)
        default: s0 = s0 + (part.0 + a0); s1 = s1 + (part.1 + a1); s2 = s2 + (part.2 + a2); s3 = s3 + (part.3 + a3)
        }
    }

    /// bfloat16 block scores of one query: the single scan's loop (q zero-padded to whole pairs).
    @inline(__always)
    func approximateBlock(_ raw: UnsafeRawPointer, block b: Int, _ q: UnsafePointer<Float>) -> SIMD16<Float> {
        let high = SIMD16<UInt32>(repeating: 0xFFFF_0000)
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>(), acc2 = SIMD16<Float>(), acc3 = SIMD16<Float>()
        let blockStart = b * pairs * 64
        var p = 0
        while p + 1 < pairs {
            let w0 = raw.loadUnaligned(fromByteOffset: blockStart + p * 64, as: SIMD16<UInt32>.self)
            let w1 = raw.loadUnaligned(fromByteOffset: blockStart + (p + 1) * 64, as: SIMD16<UInt32>.self)
            acc0 = acc0.addingProduct(SIMD16(repeating: q[2 * p]), unsafeBitCast(w0 &<< 16, to: SIMD16<Float>.self))
            acc1 = acc1.addingProduct(SIMD16(repeating: q[2 * p + 1]), unsafeBitCast(w0 & high, to: SIMD16<Float>.self))
            acc2 = acc2.addingProduct(SIMD16(repeating: q[2 * p + 2]), unsafeBitCast(w1 &<< 16, to: SIMD16<Float>.self))
            acc3 = acc3.addingProduct(SIMD16(repeating: q[2 * p + 3]), unsafeBitCast(w1 & high, to: SIMD16<Float>.self))
            p += 2
        }
        if p < pairs {
            let w = raw.loadUnaligned(fromByteOffset: blockStart + p * 64, as: SIMD16<UInt32>.self)
            acc0 = acc0.addingProduct(SIMD16(repeating: q[2 * p]), unsafeBitCast(w &<< 16, to: SIMD16<Float>.self))
            acc1 = acc1.addingProduct(SIMD16(repeating: q[2 * p + 1]), unsafeBitCast(w & high, to: SIMD16<Float>.self))
        }
        return (acc0 + acc1) + (acc2 + acc3)
    }

    /// bfloat16 block scores of 4 queries, chain by chain: chain m takes the low (m even) or
    /// high (m odd) halves of the pairs p ≡ m/2 (mod 2), as the single scan's loop does.
    @inline(__always)
    private func approximateTile4(_ raw: UnsafeRawPointer, block b: Int, _ q: UnsafePointer<Float>, stride: Int, into out: UnsafeMutablePointer<SIMD16<Float>>) {
        let blockStart = b * pairs * 64
        let high = SIMD16<UInt32>(repeating: 0xFFFF_0000)
        let q0 = q, q1 = q + stride, q2 = q + 2 * stride, q3 = q + 3 * stride
        var part: (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) = (.zero, .zero, .zero, .zero)
        var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>(), sum2 = SIMD16<Float>(), sum3 = SIMD16<Float>()
        for m in 0..<4 {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var p = m >> 1
            let odd = m & 1
            while p < pairs {
                let w = raw.loadUnaligned(fromByteOffset: blockStart + p * 64, as: SIMD16<UInt32>.self)
                let x = unsafeBitCast(odd == 0 ? w &<< 16 : w & high, to: SIMD16<Float>.self)
                let j = 2 * p + odd
                a0 = a0.addingProduct(SIMD16(repeating: q0[j]), x)
                a1 = a1.addingProduct(SIMD16(repeating: q1[j]), x)
                a2 = a2.addingProduct(SIMD16(repeating: q2[j]), x)
                a3 = a3.addingProduct(SIMD16(repeating: q3[j]), x)
                p += 2
            }
            Self.combine(m, a0, a1, a2, a3, &part, &sum0, &sum1, &sum2, &sum3)
        }
        out[0] = sum0; out[1] = sum1; out[2] = sum2; out[3] = sum3
    }
}
