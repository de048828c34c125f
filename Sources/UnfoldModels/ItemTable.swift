import UnfoldMath

/// The item embeddings of a model: row i of `vectors` is the item with external id `ids[i]`.
public struct ItemTable: Sendable, Equatable {
    public var ids: [String]
    public var vectors: Matrix

    public init(ids: [String], vectors: Matrix) {
        precondition(ids.count == vectors.rows, "\(ids.count) ids for \(vectors.rows) vectors")
        self.ids = ids
        self.vectors = vectors
    }

    public var count: Int { ids.count }
    public var dimensions: Int { vectors.cols }

    /// ‖v_i‖ for every item.
    public func norms() -> [Float] {
        vectors.storage.withUnsafeBufferPointer { base in
            (0..<count).map { sumOfSquares(base.baseAddress! + $0 * dimensions, dimensions).squareRoot() }
        }
    }

    /// The `k` nearest items of every item by cosine similarity, itself excluded:
    /// `indices[i*k ..< (i+1)*k]` best first, `-1` padding when fewer exist.
    public func cosineNeighbours(k: Int, threads: Int = defaultThreadCount) -> (indices: [Int32], scores: [Float]) {
        let n = count, d = dimensions
        let kk = min(k, max(n - 1, 0))
        var indices = [Int32](repeating: -1, count: n * k)
        var scores = [Float](repeating: 0, count: n * k)
        guard kk > 0 else { return (indices, scores) }
        // Unit rows: cosine is then a dot product.
        var unit = vectors
        let norms = self.norms()
        for i in 0..<n where norms[i] > 0 {
            let inverse = 1 / norms[i]
            for j in 0..<d { unit.storage[i * d + j] *= inverse }
        }
        unit.storage.withUnsafeBufferPointer { table in
            indices.withUnsafeMutableBufferPointer { outIndex in
                scores.withUnsafeMutableBufferPointer { outScore in
                    let chunks = max(1, threads * 4)
                    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                        var row = [Float](repeating: 0, count: n)
                        for i in stride(from: chunk, to: n, by: chunks) {
                            row.withUnsafeMutableBufferPointer { r in
                                matrixVector(table.baseAddress!, rows: n, cols: d, table.baseAddress! + i * d, into: r.baseAddress!)
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
        return (indices, scores)
    }
}

import Dispatch
