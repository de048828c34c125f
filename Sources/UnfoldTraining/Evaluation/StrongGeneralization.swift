import Foundation
import UnfoldData
import UnfoldMath
import UnfoldServing

/// The strong-generalization protocol of Liang et al. 2018 ("Variational Autoencoders for
/// Collaborative Filtering"): the model never trained on the evaluated users; each user's
/// fold-in part is the query (exactly how the server answers a user it has never seen), the
/// rest is scored. Recall@k = hits in the top k / min(k, |held out|) and NDCG@100, binary
/// relevance, the user's fold-in items excluded from the list.
public enum StrongGeneralization {
    public struct UserMetrics: Sendable {
        public var user: Int
        public var recall20: Double
        public var recall50: Double
        public var ndcg100: Double
    }

    public static let metrics: [(String, @Sendable (UserMetrics) -> Double)] = [("recall@20", \.recall20), ("recall@50", \.recall50), ("ndcg@100", \.ndcg100)]

    /// `foldIn` and `heldOut`: users × items over the model's item space, the same users.
    public static func perUser(_ model: ServedModel, foldIn: CSRMatrix, heldOut: CSRMatrix, lists: Evaluation.Lists = .served(features: nil),
                               threads: Int = defaultThreadCount) -> [UserMetrics] {
        // A held-out item the user also folds in (a repeated interaction split both ways) can
        // never be listed (the fold-in items are excluded): it is not counted as relevant.
        var relevantOf: [Int: Set<Int>] = [:]
        for u in 0..<heldOut.rows where foldIn.rowCount(u) > 0 {
            let relevant = Set(heldOut.indices[heldOut.rowRange(u)].map(Int.init)).subtracting(foldIn.indices[foldIn.rowRange(u)].map(Int.init))
            if !relevant.isEmpty { relevantOf[u] = relevant }
        }
        let users = relevantOf.keys.sorted()
        let top = Evaluation.topLists(model, train: foldIn, users: users, k: 100, lists: lists, threads: threads)
        return users.map { u in
            let relevant = relevantOf[u]!
            func recall(_ k: Int) -> Double {
                Double(top[u].prefix(k).filter(relevant.contains).count) / Double(min(k, relevant.count))
            }
            var dcg = 0.0
            for (j, item) in top[u].prefix(100).enumerated() where relevant.contains(item) { dcg += 1 / log2(Double(j + 2)) }
            let ideal = (0..<min(100, relevant.count)).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
            return UserMetrics(user: u, recall20: recall(20), recall50: recall(50), ndcg100: ideal > 0 ? dcg / ideal : 0)
        }
    }

    /// Means over users.
    public static func means(_ values: [UserMetrics]) -> [String: Double] {
        var out: [String: Double] = ["users": Double(values.count)]
        for (name, pick) in metrics { out[name] = values.isEmpty ? 0 : values.map(pick).reduce(0, +) / Double(values.count) }
        return out
    }
}
