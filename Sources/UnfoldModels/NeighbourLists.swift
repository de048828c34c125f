import Dispatch
import UnfoldMath

/// Every item's `perItem` nearest items, precomputed at training: row i of `indices` and
/// `scores` (n × perItem, row-major) lists item i's neighbours best first, padded with −1.
public struct NeighbourLists: Sendable {
    public let perItem: Int
    public let indices: PinnedArray<Int32>
    public let scores: PinnedArray<Float>

    public init(perItem: Int, indices: PinnedArray<Int32>, scores: PinnedArray<Float>) {
        precondition(indices.count == scores.count && (perItem == 0 ? indices.count == 0 : indices.count % perItem == 0), "neighbour lists do not match their width")
        self.perItem = perItem
        self.indices = indices
        self.scores = scores
    }

    public static var none: NeighbourLists { NeighbourLists(perItem: 0, indices: .empty, scores: .empty) }

    /// Item i's neighbours, best first (padding removed).
    public func of(_ i: Int) -> [(index: Int, score: Float)] {
        (0..<perItem).compactMap { j in
            let index = indices[i * perItem + j]
            return index >= 0 ? (Int(index), scores[i * perItem + j]) : nil
        }
    }

    /// The `k` nearest items of every item by cosine similarity, itself excluded.
    public static func cosine(_ table: ItemTable, k: Int, threads: Int = defaultThreadCount) -> NeighbourLists {
        let n = table.count, d = table.dimensions
        let kk = min(k, max(n - 1, 0))
        var indices = [Int32](repeating: -1, count: n * k)
        var scores = [Float](repeating: 0, count: n * k)
        guard kk > 0 else { return NeighbourLists(perItem: k, indices: PinnedArray(indices), scores: PinnedArray(scores)) }
        // Unit rows: cosine is then a dot product.
        var unit = table.vectors.array
        for i in 0..<n where table.norms[i] > 0 {
            let inverse = 1 / table.norms[i]
            for j in 0..<d { unit[i * d + j] *= inverse }
        }
        unit.withUnsafeBufferPointer { rows in
            indices.withUnsafeMutableBufferPointer { outIndex in
                scores.withUnsafeMutableBufferPointer { outScore in
                    let chunks = max(1, threads * 4)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        var row = [Float](repeating: 0, count: n)
                        for i in stride(from: chunk, to: n, by: chunks) {
                            row.withUnsafeMutableBufferPointer { r in
                                matrixVector(rows.baseAddress!, rows: n, cols: d, rows.baseAddress! + i * d, into: r.baseAddress!)
                            }
                            let best = row.withUnsafeBufferPointer { topK($0, k: kk) { $0 == i } }
                            for (rank, hit) in best.enumerated() {
                                outIndex[i * k + rank] = Int32(hit.index)
                                outScore[i * k + rank] = hit.score
                            }
                        }
                    }
                }
            }
        }
        return NeighbourLists(perItem: k, indices: PinnedArray(indices), scores: PinnedArray(scores))
    }
}
