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

    /// A scorer for item2vec: the weighted mean of the user's training item vectors, then a scan.
    public static func meanPoolingScorer(items: Matrix, train: CSRMatrix) -> Scorer {
        let d = items.cols
        var q = [Float](repeating: 0, count: d)
        return { user, scores in
            let range = train.rowRange(user)
            let weights = Array(train.values[range])
            let total = weights.reduce(0, +)
            for k in 0..<d { q[k] = 0 }
            items.storage.withUnsafeBufferPointer { table in
                for (i, w) in zip(train.indices[range], weights) {
                    let base = table.baseAddress! + Int(i) * d
                    let share = total > 0 ? w / total : 1 / Float(max(range.count, 1))
                    for k in 0..<d { q[k] += share * base[k] }
                }
                q.withUnsafeBufferPointer { qp in
                    matrixVector(table.baseAddress!, rows: items.rows, cols: d, qp.baseAddress!, into: scores.baseAddress!)
                }
            }
        }
    }
}
