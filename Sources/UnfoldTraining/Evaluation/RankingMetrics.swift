import Foundation

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

    /// One user's contribution: (precision, recall, NDCG, AP) of a list against the test items.
    static func user(_ list: [Int], relevant: Set<Int>, k: Int) -> (precision: Double, recall: Double, ndcg: Double, ap: Double) {
        var hits = 0, dcg = 0.0, ap = 0.0
        for (j, item) in list.enumerated() where relevant.contains(item) {
            hits += 1
            dcg += 1 / log2(Double(j + 2))
            ap += Double(hits) / Double(j + 1)
        }
        let ideal = min(k, relevant.count)
        let idcg = (0..<ideal).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
        return (Double(hits) / Double(k), Double(hits) / Double(relevant.count), idcg > 0 ? dcg / idcg : 0, ideal > 0 ? ap / Double(ideal) : 0)
    }
}
