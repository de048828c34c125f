import Dispatch
import UnfoldData
import UnfoldMath

/// Ranking metrics at k over the users that have at least one test item. Items the user
/// had in training are never recommended (filtered before ranking). With R_u the user's
/// test items, the top-k list L_u and rel_u(j) = 1 if L_u[j] ∈ R_u:
///
/// - precision@k = |L_u ∩ R_u| / k
/// - recall@k    = |L_u ∩ R_u| / |R_u|
/// - NDCG@k      = DCG / IDCG, DCG = Σ_j rel_u(j) / log2(j + 2) (j from 0), IDCG the same for min(k, |R_u|) hits
/// - MAP@k       = (1 / min(k, |R_u|)) Σ_j rel_u(j) · precision@(j+1)
/// - coverage    = distinct items in any L_u / number of items
///
/// each averaged over users (coverage is global).
public struct RankingMetrics: Sendable, Codable, Equatable {
    public var k: Int
    public var users: Int
    public var precision: Double
    public var recall: Double
    public var ndcg: Double
    public var map: Double
    public var coverage: Double

    /// `precision@10`-style keys, for metadata and JSON output.
    public var dictionary: [String: Double] {
        ["precision@\(k)": precision, "recall@\(k)": recall, "ndcg@\(k)": ndcg, "map@\(k)": map, "coverage@\(k)": coverage, "users": Double(users)]
    }
}

public enum Evaluation {
    /// Fills `scores` (one per item) for a user; each worker gets its own scorer.
    public typealias Scorer = (_ user: Int, _ scores: UnsafeMutableBufferPointer<Float>) -> Void

    public static func rank(train: CSRMatrix, test: CSRMatrix, k: Int, threads: Int = defaultThreadCount, makeScorer: () -> Scorer) -> RankingMetrics {
        precondition(train.rows == test.rows && train.cols == test.cols, "train and test must share the id spaces")
        let users = (0..<test.rows).filter { test.rowCount($0) > 0 }
        let itemCount = train.cols
        let workers = max(1, min(threads, users.count))
        var sums = [[Double]](repeating: [0, 0, 0, 0], count: workers)
        var recommended = [[Bool]](repeating: [Bool](repeating: false, count: itemCount), count: workers)
        sums.withUnsafeMutableBufferPointer { sumsBuffer in
            recommended.withUnsafeMutableBufferPointer { seenBuffer in
                forEachTopList(users: users, train: train, k: k, workers: workers, makeScorer: makeScorer) { worker, u, list in
                    let relevant = Set(test.indices[test.rowRange(u)].map(Int.init))
                    var hits = 0, dcg = 0.0, ap = 0.0
                    for (j, hit) in list.enumerated() {
                        seenBuffer[worker][hit.index] = true
                        if relevant.contains(hit.index) {
                            hits += 1
                            dcg += 1 / log2(Double(j + 2))
                            ap += Double(hits) / Double(j + 1)
                        }
                    }
                    let ideal = min(k, relevant.count)
                    let idcg = (0..<ideal).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
                    sumsBuffer[worker][0] += Double(hits) / Double(k)
                    sumsBuffer[worker][1] += Double(hits) / Double(relevant.count)
                    sumsBuffer[worker][2] += idcg > 0 ? dcg / idcg : 0
                    sumsBuffer[worker][3] += ideal > 0 ? ap / Double(ideal) : 0
                }
            }
        }
        let n = Double(max(users.count, 1))
        let total = sums.reduce([0, 0, 0, 0]) { zip($0, $1).map { $0 + $1 } }
        var covered = 0
        for item in 0..<itemCount where recommended.contains(where: { $0[item] }) { covered += 1 }
        return RankingMetrics(k: k, users: users.count, precision: total[0] / n, recall: total[1] / n, ndcg: total[2] / n, map: total[3] / n,
                              coverage: itemCount > 0 ? Double(covered) / Double(itemCount) : 0)
    }

    /// The top-k list of every user in `users`, spread over `workers` threads (each with its
    /// own scorer, users interleaved): the user's training items are never in it, nor items
    /// for which `excluded` holds. `visit(worker, user, list)` runs on the worker's thread.
    static func forEachTopList(users: [Int], train: CSRMatrix, k: Int, workers: Int, makeScorer: () -> Scorer,
                               excluded: (Int) -> Bool = { _ in false }, visit: (Int, Int, [(index: Int, score: Float)]) -> Void) {
        let scorers = (0..<workers).map { _ in makeScorer() }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var scores = [Float](repeating: 0, count: train.cols)
            var position = worker
            while position < users.count {
                let u = users[position]
                position += workers
                scores.withUnsafeMutableBufferPointer { scorers[worker](u, $0) }
                let trainItems = Set(train.indices[train.rowRange(u)].map(Int.init))
                let list = scores.withUnsafeBufferPointer { topK($0, k: k) { trainItems.contains($0) || excluded($0) } }
                visit(worker, u, list)
            }
        }
    }

    /// Everyone gets the most popular unseen items: the baseline a model must beat.
    public static func popularity(train: CSRMatrix, test: CSRMatrix, k: Int) -> RankingMetrics {
        var counts = [Float](repeating: 0, count: train.cols)
        for i in train.indices { counts[Int(i)] += 1 }
        return rank(train: train, test: test, k: k) {
            { _, scores in _ = scores.update(fromContentsOf: counts) }
        }
    }

    /// Maps test interactions into the train id spaces, dropping users and items the
    /// training data never saw (no model can rank an item it has no vector for).
    public static func align(test: Interactions, to train: Interactions) -> CSRMatrix {
        matrix(test, users: train.users, items: train.items, binary: true)
    }

    /// Interactions as a users × items matrix over given id spaces; records whose user or
    /// item is not in them are dropped. `binary` counts each pair once with weight 1.
    public static func matrix(_ data: Interactions, users: IDMap, items: IDMap, binary: Bool) -> CSRMatrix {
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = []
        for k in 0..<data.count {
            guard let u = users.index(of: data.users[data.userIndex[k]]),
                  let i = items.index(of: data.items[data.itemIndex[k]]) else { continue }
            rows.append(u)
            cols.append(i)
            values.append(binary ? 1 : data.weights[k])
        }
        var m = CSRMatrix(rows: users.count, cols: items.count, rowIndex: rows, colIndex: cols, values: values)
        if binary { m.values = [Float](repeating: 1, count: m.values.count) }
        return m
    }
}

#if canImport(Glibc)
import Glibc
#endif
