import UnfoldData
import UnfoldMath
import UnfoldModels

extension Evaluation {
    /// Ranks every test user the way the server will: fold-in of the user's training
    /// interactions into a query vector, then an exact scan of the item table.
    public static func foldIn(items: Matrix, encoder: FoldIn, train: CSRMatrix, test: CSRMatrix, k: Int, threads: Int = defaultThreadCount) -> RankingMetrics {
        rank(train: train, test: test, k: k, threads: threads) { foldInScorer(items: items, encoder: encoder, train: train) }
    }

    /// A scorer that folds each user's training row in and scans the item table.
    public static func foldInScorer(items: Matrix, encoder: FoldIn, train: CSRMatrix) -> Scorer {
        let d = items.cols
        do {
            var scratch = [Float](repeating: 0, count: d * d)
            var q = [Float](repeating: 0, count: d)
            return { user, scores in
                let range = train.rowRange(user)
                items.storage.withUnsafeBufferPointer { table in
                    let ok = scratch.withUnsafeMutableBufferPointer { s in
                        q.withUnsafeMutableBufferPointer { out in
                            encoder.encode(items: table.baseAddress!, indices: train.indices[range].map(Int.init), weights: Array(train.values[range]),
                                           scratch: s.baseAddress!, out: out.baseAddress!)
                        }
                    }
                    if !ok { q = [Float](repeating: 0, count: d) }
                    q.withUnsafeBufferPointer { qp in
                        matrixVector(table.baseAddress!, rows: items.rows, cols: d, qp.baseAddress!, into: scores.baseAddress!)
                    }
                }
            }
        }
    }
}
