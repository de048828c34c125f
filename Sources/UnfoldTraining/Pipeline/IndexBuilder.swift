import Dispatch
import UnfoldMath
import UnfoldModels
import UnfoldServing

/// Builds an `ItemIndex`: spherical k-means over the norm-augmented items (docs/algorithms.md,
/// "Approximate retrieval"), every item assigned to its nearest centroid, then the probe count
/// calibrated against the exact scan on sample queries.
public enum IndexBuilder {
    public struct Options: Sendable {
        /// Lists (nil: `lists(for:)`).
        public var lists: Int?
        /// k-means rounds over the sample.
        public var iterations = 10
        /// Sample points per list the k-means rounds run on.
        public var pointsPerList = 32
        /// The recall@10 the calibration asks of the chosen probe count, on its sample.
        public var targetRecall: Float = 0.97
        public var seed: UInt64 = 42
        public var threads = defaultThreadCount

        public init() {}
    }

    /// About 2√n lists, a power of two within 16…4096: lists of ~√n/2 items.
    public static func lists(for n: Int) -> Int {
        let target = max(16, min(4096, Int(2 * Double(n).squareRoot())))
        var lists = 16
        while lists * 2 <= target { lists *= 2 }
        return min(lists, n)
    }

    /// The index over `items` (n×d rows), calibrated on `queries` (rows of query vectors, e.g.
    /// training users' vectors).
    public static func build(_ items: ItemTable, queries: Matrix, options: Options = Options()) -> ItemIndex {
        let n = items.count, d = items.dimensions, stride = d + 1
        precondition(n > 0, "an index needs items")
        let lists = max(1, min(options.lists ?? Self.lists(for: n), n))
        let table = items.vectors.base
        let maxNorm = max(items.norms.buffer.max() ?? 1, .leastNormalMagnitude)
        // Item i's augmented direction: [v_i, √(M² − ‖v_i‖²)] / M.
        func augment(_ i: Int, into out: UnsafeMutablePointer<Float>) {
            let v = table + i * d
            for c in 0..<d { out[c] = v[c] / maxNorm }
            let norm = items.norms[i]
            out[d] = max(0, maxNorm * maxNorm - norm * norm).squareRoot() / maxNorm
        }

        // k-means on a seeded sample of the items.
        var rng = SplitMix64(seed: options.seed)
        let sampleCount = min(n, lists * options.pointsPerList)
        var sample = Array(0..<n)
        for s in 0..<sampleCount { sample.swapAt(s, s + Int(rng.next() % UInt64(n - s))) }
        sample.removeSubrange(sampleCount...)
        var points = [Float](repeating: 0, count: sampleCount * stride)
        points.withUnsafeMutableBufferPointer { p in for (s, i) in sample.enumerated() { augment(i, into: p.baseAddress! + s * stride) } }
        var centroids = Array(points[0..<(lists * stride)])  // the first `lists` sample points (a random draw)
        for _ in 0..<options.iterations {
            let (assignment, scores) = nearest(points, rows: sampleCount, centroids: centroids, lists: lists, stride: stride, threads: options.threads)
            var sums = [Float](repeating: 0, count: lists * stride), counts = [Int](repeating: 0, count: lists)
            for s in 0..<sampleCount {
                let j = Int(assignment[s])
                counts[j] += 1
                for c in 0..<stride { sums[j * stride + c] += points[s * stride + c] }
            }
            // An empty list takes the sample points its centroid serves worst, one each.
            let worst = (0..<sampleCount).sorted { scores[$0] < scores[$1] }
            var spare = worst.makeIterator()
            for j in 0..<lists {
                if counts[j] == 0, let s = spare.next() {
                    for c in 0..<stride { sums[j * stride + c] = points[s * stride + c] }
                }
                normalize(&sums, row: j, stride: stride)
            }
            centroids = sums
        }

        // Every item to its nearest centroid, in chunks on all threads (augmented on the fly).
        let assignment = nearestItems(n, augment: augment, centroids: centroids, lists: lists, stride: stride, threads: options.threads)
        var offsets = [UInt32](repeating: 0, count: lists + 1)
        for j in assignment { offsets[Int(j) + 1] += 1 }
        for j in 0..<lists { offsets[j + 1] += offsets[j] }
        var cursor = offsets
        var members = [UInt32](repeating: 0, count: n)
        for i in 0..<n {
            let j = Int(assignment[i])
            members[Int(cursor[j])] = UInt32(i)
            cursor[j] += 1
        }
        let index = ItemIndex(lists: lists, dimensions: d, maxNorm: maxNorm, probes: lists, recall: 1, sampleQueries: queries.rows,
                              centroids: PinnedArray(centroids), offsets: PinnedArray(offsets), members: PinnedArray(members))
        return calibrate(index, items: items, queries: queries, target: options.targetRecall, threads: options.threads)
    }

    /// The fewest probes (on a ladder 1, 2, 3, 4, 6, 8, 12, …) whose recall@10 on the queries
    /// reaches `target`, and that recall.
    public static func calibrate(_ index: ItemIndex, items: ItemTable, queries: Matrix, target: Float, threads: Int = defaultThreadCount) -> ItemIndex {
        guard queries.rows > 0 else { return index }
        let n = items.count, d = items.dimensions, k = min(10, n), table = items.vectors.base
        let exact: [Set<Int>] = queries.storage.withUnsafeBufferPointer { qs in
            var out = [Set<Int>](repeating: [], count: queries.rows)
            out.withUnsafeMutableBufferPointer { o in
                DispatchQueue.concurrentPerform(iterations: queries.rows) { r in
                    var scores = [Float](repeating: 0, count: n)
                    scores.withUnsafeMutableBufferPointer { matrixVector(table, rows: n, cols: d, qs.baseAddress! + r * d, into: $0.baseAddress!) }
                    o[r] = Set(scores.withUnsafeBufferPointer { topK($0, k: k) }.map(\.index))
                }
            }
            return out
        }
        func recall(_ probes: Int) -> Float {
            queries.storage.withUnsafeBufferPointer { qs in
                var hits = [Int](repeating: 0, count: queries.rows)
                hits.withUnsafeMutableBufferPointer { h in
                    DispatchQueue.concurrentPerform(iterations: queries.rows) { r in
                        let found = index.search(qs.baseAddress! + r * d, k: k, table: table, probes: probes)
                        h[r] = found.filter { exact[r].contains($0.index) }.count
                    }
                }
                return Float(hits.reduce(0, +)) / Float(queries.rows * k)
            }
        }
        var ladder: [Int] = []
        var p = 1
        while p < index.lists {
            ladder.append(p)
            if p >= 2 { ladder.append(min(index.lists, p + p / 2)) }
            p *= 2
        }
        for probes in Set(ladder).sorted() where probes < index.lists {
            let measured = recall(probes)
            if measured >= target { return index.with(probes: probes, recall: measured) }
        }
        return index.with(probes: index.lists, recall: recall(index.lists))
    }

    /// Queries/s and recall@k of the index at each probe count, and queries/s of the server's
    /// exact scan (one per query), every query once per setting, spread over every core.
    public static func measure(_ index: ItemIndex, items: ItemTable, queries q: UnsafePointer<Float>, count: Int, probes: [Int], k: Int)
        -> (exactPerSecond: Double, settings: [(probes: Int, perSecond: Double, recall: Double)]) {
        let n = items.count, d = items.dimensions, table = items.vectors.base
        func run(_ body: (UnsafePointer<Float>) -> [(index: Int, score: Float)]) -> (answers: [[Int]], seconds: Double) {
            var answers = [[Int]](repeating: [], count: count)
            let started = DispatchTime.now().uptimeNanoseconds
            answers.withUnsafeMutableBufferPointer { out in
                DispatchQueue.concurrentPerform(iterations: defaultThreadCount) { worker in
                    var r = worker
                    while r < count {
                        out[r] = body(q + r * d).map(\.index)
                        r += defaultThreadCount
                    }
                }
            }
            return (answers, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        }
        // The server's exact scan (blocked; bfloat16 with an exact rescan for large tables).
        let scan = BlockedTable(table, rows: n, cols: d)
        let exact = run { scan.topK($0, table: table, k: k) }
        let settings = probes.map { p -> (probes: Int, perSecond: Double, recall: Double) in
            let found = run { index.search($0, k: k, table: table, probes: p) }
            var hits = 0
            for r in 0..<count { hits += Set(exact.answers[r]).intersection(found.answers[r]).count }
            return (p, Double(count) / found.seconds, Double(hits) / Double(max(1, count * min(k, n))))
        }
        return (Double(count) / exact.seconds, settings)
    }

    /// Up to `count` rows of `m`, a seeded draw without repeats (all of them if fewer).
    public static func sampleRows(_ m: Matrix, count: Int, seed: UInt64) -> Matrix {
        guard m.rows > count else { return m }
        var rng = SplitMix64(seed: seed &+ 0x5EED)
        var rows = Array(0..<m.rows)
        for s in 0..<count { rows.swapAt(s, s + Int(rng.next() % UInt64(m.rows - s))) }
        var storage: [Float] = []
        storage.reserveCapacity(count * m.cols)
        for r in rows.prefix(count) { storage += m.storage[(r * m.cols)..<((r + 1) * m.cols)] }
        return Matrix(rows: count, cols: m.cols, storage: storage)
    }

    static func normalize(_ rows: inout [Float], row j: Int, stride: Int) {
        var norm: Float = 0
        for c in 0..<stride { norm += rows[j * stride + c] * rows[j * stride + c] }
        norm = norm.squareRoot()
        guard norm > 0 else { return }
        for c in 0..<stride { rows[j * stride + c] /= norm }
    }

    /// For each row of `points` (stride-wide), its best centroid and that score.
    static func nearest(_ points: [Float], rows: Int, centroids: [Float], lists: Int, stride: Int, threads: Int) -> ([Int32], [Float]) {
        var assignment = [Int32](repeating: 0, count: rows), scores = [Float](repeating: 0, count: rows)
        let scan = centroids.withUnsafeBufferPointer { BlockedTable($0.baseAddress!, rows: lists, cols: stride, precision: .float32) }
        centroids.withUnsafeBufferPointer { c in
            points.withUnsafeBufferPointer { p in
                assignment.withUnsafeMutableBufferPointer { a in
                    scores.withUnsafeMutableBufferPointer { s in
                        let chunks = max(1, min(threads * 4, rows / 256))
                        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                            for r in (chunk * rows / chunks)..<((chunk + 1) * rows / chunks) {
                                let best = scan.topK(p.baseAddress! + r * stride, table: c.baseAddress!, k: 1)
                                a[r] = Int32(best.first?.index ?? 0)
                                s[r] = best.first?.score ?? -.infinity
                            }
                        }
                    }
                }
            }
        }
        return (assignment, scores)
    }

    /// Every item's best centroid, its augmented row built on the fly.
    static func nearestItems(_ n: Int, augment: (Int, UnsafeMutablePointer<Float>) -> Void, centroids: [Float], lists: Int, stride: Int, threads: Int) -> [Int32] {
        var assignment = [Int32](repeating: 0, count: n)
        let scan = centroids.withUnsafeBufferPointer { BlockedTable($0.baseAddress!, rows: lists, cols: stride, precision: .float32) }
        centroids.withUnsafeBufferPointer { c in
            assignment.withUnsafeMutableBufferPointer { a in
                let chunks = max(1, min(threads * 8, n / 1024))
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: stride) { row in
                        for i in (chunk * n / chunks)..<((chunk + 1) * n / chunks) {
                            augment(i, row.baseAddress!)
                            a[i] = Int32(scan.topK(row.baseAddress!, table: c.baseAddress!, k: 1).first?.index ?? 0)
                        }
                    }
                }
            }
        }
        return assignment
    }
}
