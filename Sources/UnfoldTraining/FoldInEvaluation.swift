import UnfoldData
import UnfoldMath
import UnfoldModels

extension Evaluation {
    /// Ranks users the way the server does: the model's query encoder (fold-in when the
    /// model has one, else the weighted mean of item vectors) over the user's training row,
    /// then an exact scan of the item table.
    /// With a `tower` (softmax), the query is its forward pass over the training row and
    /// the user's feature vector (`features[user]`, empty without features), plus item biases.
    public static func servingScorer(items: Matrix, foldIn: FoldIn?, train: CSRMatrix, tower: Tower? = nil, features: [[Float]] = []) -> Scorer {
        let d = items.cols
        var scratch = [Float](repeating: 0, count: foldIn?.scratchCount ?? 0)
        var q = [Float](repeating: 0, count: d)
        return { user, scores in
            let range = train.rowRange(user)
            items.storage.withUnsafeBufferPointer { table in
                q.withUnsafeMutableBufferPointer { out in
                    if let foldIn {
                        let ok = scratch.withUnsafeMutableBufferPointer { s in
                            foldIn.encode(items: table.baseAddress!, indices: train.indices[range].map(Int.init), weights: Array(train.values[range]),
                                          scratch: s.baseAddress!, out: out.baseAddress!)
                        }
                        if !ok { out.update(repeating: 0) }
                    } else if let tower {
                        tower.encode(indices: train.indices[range], weights: train.values[range], features: features.isEmpty ? [] : features[user], out: out.baseAddress!)
                    } else {
                        MeanPooling.encode(items: table.baseAddress!, d: d, indices: train.indices[range], weights: train.values[range], out: out.baseAddress!)
                    }
                    matrixVector(table.baseAddress!, rows: items.rows, cols: d, out.baseAddress!, into: scores.baseAddress!)
                    if let bias = tower?.itemBias { for i in 0..<items.rows { scores[i] += bias[i] } }
                }
            }
        }
    }
}

extension Evaluation {
    /// Every user's top-k item list (training items removed), indexed by user; empty for
    /// users not in `users`.
    public static func topLists(train: CSRMatrix, users: [Int], k: Int, threads: Int = defaultThreadCount, makeScorer: () -> Scorer) -> [[Int]] {
        var lists = [[Int]](repeating: [], count: train.rows)
        lists.withUnsafeMutableBufferPointer { out in
            forEachTopList(users: users, train: train, k: k, workers: max(1, min(threads, users.count)), makeScorer: makeScorer) { _, u, list in
                out[u] = list.map(\.index)
            }
        }
        return lists
    }

    /// The mean overlap |A_u ∩ B_u| / k of the reference lists (from `topLists`) and a
    /// scorer's top-k over `users`: how well one encoder reproduces another's rankings.
    public static func topListAgreement(train: CSRMatrix, users: [Int], k: Int, threads: Int = defaultThreadCount,
                                        reference lists: [[Int]], candidate: () -> Scorer) -> Double {
        let workers = max(1, min(threads, users.count))
        var overlap = [Double](repeating: 0, count: workers)
        overlap.withUnsafeMutableBufferPointer { out in
            forEachTopList(users: users, train: train, k: k, workers: workers, makeScorer: candidate) { worker, u, list in
                let reference = Set(lists[u])
                out[worker] += Double(list.filter { reference.contains($0.index) }.count) / Double(k)
            }
        }
        return users.isEmpty ? 0 : overlap.reduce(0, +) / Double(users.count)
    }
}
