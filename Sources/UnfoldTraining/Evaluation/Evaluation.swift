import Dispatch
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing

/// Held-out evaluation, through the code that serves. A user's list is what
/// `POST /v1/recommend` answers for the user's training interactions: `Recommender` encodes
/// them with the model's encoder (falling back to popularity where it cannot), retrieves
/// and filters, with the training items excluded. So the NDCG a snapshot's metadata
/// reports is the NDCG its server delivers.
public enum Evaluation {
    /// Where a user's top-k list comes from.
    public enum Lists: Sendable {
        /// The served path over the user's training row, with the user's query features
        /// (softmax; indexed by user, absent: none).
        case served(features: [[String: FeatureValue]]?)
        /// A vector per user (trained user vectors), retrieved by the same scan: training
        /// diagnostics that tell the model's quality apart from its encoder's.
        case vectors(Matrix)
        /// The most popular items the user has not had: the baseline a model must beat.
        case popularity
    }

    /// The metrics of `model` over users with test items. `train` and `test` are users ×
    /// the model's items.
    public static func rank(_ model: ServedModel, train: CSRMatrix, test: CSRMatrix, k: Int, lists: Lists = .served(features: nil),
                            threads: Int = defaultThreadCount) -> RankingMetrics {
        let (values, coverage) = perUser(model, train: train, test: test, k: k, lists: lists, threads: threads)
        let n = Double(max(values.count, 1))
        func mean(_ pick: (UserMetrics) -> Double) -> Double { values.reduce(0) { $0 + pick($1) } / n }
        return RankingMetrics(k: k, users: values.count, precision: mean(\.precision), recall: mean(\.recall), ndcg: mean(\.ndcg), map: mean(\.ap),
                              coverage: coverage)
    }

    /// One evaluated user's metrics at k.
    public struct UserMetrics: Sendable {
        public var user: Int
        public var precision: Double
        public var recall: Double
        public var ndcg: Double
        public var ap: Double
    }

    /// Every user with test items, in user order, and the coverage of all their lists: what
    /// `rank` averages, and what a bootstrap over users resamples.
    public static func perUser(_ model: ServedModel, train: CSRMatrix, test: CSRMatrix, k: Int, lists: Lists = .served(features: nil),
                               threads: Int = defaultThreadCount) -> (users: [UserMetrics], coverage: Double) {
        precondition(train.rows == test.rows && train.cols == test.cols && train.cols == model.itemCount, "train, test and the model must share the id spaces")
        let users = (0..<test.rows).filter { test.rowCount($0) > 0 }
        let workers = max(1, min(threads, users.count))
        var values = [[UserMetrics]](repeating: [], count: workers)
        var recommended = [[Bool]](repeating: [Bool](repeating: false, count: train.cols), count: workers)
        values.withUnsafeMutableBufferPointer { valuesBuffer in
            recommended.withUnsafeMutableBufferPointer { seenBuffer in
                forEachList(model, users: users, train: train, k: k, lists: lists, workers: workers) { worker, u, list in
                    for item in list { seenBuffer[worker][item] = true }
                    let m = RankingMetrics.user(list, relevant: Set(test.indices[test.rowRange(u)].map(Int.init)), k: k)
                    valuesBuffer[worker].append(UserMetrics(user: u, precision: m.precision, recall: m.recall, ndcg: m.ndcg, ap: m.ap))
                }
            }
        }
        var covered = 0
        for item in 0..<train.cols where recommended.contains(where: { $0[item] }) { covered += 1 }
        return (values.flatMap { $0 }.sorted { $0.user < $1.user }, train.cols > 0 ? Double(covered) / Double(train.cols) : 0)
    }

    /// The top-k list of every user in `users`, spread over `workers` threads (users
    /// interleaved): training items never in it, nor `excluded` ids. `visit(worker, user,
    /// list)` runs on the worker's thread.
    static func forEachList(_ model: ServedModel, users: [Int], train: CSRMatrix, k: Int, lists: Lists, excluded: Set<String> = [], workers: Int,
                            visit: (Int, Int, [Int]) -> Void) {
        let excludedRows = excluded.compactMap { model.index(of: $0) }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var position = worker
            while position < users.count {
                let u = users[position]
                position += workers
                visit(worker, u, list(model, user: u, train: train, k: k, lists: lists, excluded: excluded, excludedRows: excludedRows))
            }
        }
    }

    /// One user's top-k list.
    static func list(_ model: ServedModel, user u: Int, train: CSRMatrix, k: Int, lists: Lists, excluded: Set<String>, excludedRows: [Int]) -> [Int] {
        let range = train.rowRange(u)
        switch lists {
        case .served(let features):
            let bag = ItemBag(row: u, of: train)
            var query = RecommendQuery(k: k, excludeSeen: true, exclude: excluded, features: features?[u] ?? [:])
            let result: Recommendation
            do {
                result = try Recommender.recommend(query, posted: PostedItems(bag: bag), with: model)
            } catch {
                // Features the model's schema refuses: as the server would, minus the features.
                query.features = [:]
                guard let plain = try? Recommender.recommend(query, posted: PostedItems(bag: bag), with: model) else { return [] }
                result = plain
            }
            return result.items.map(\.index)
        case .vectors(let vectors):
            let q = Array(vectors.row(u))
            let seen = (train.indices[range].map(Int.init) + excludedRows).sorted()
            return Recommender.retrieve(q, k: k, excluding: seen, with: model).map(\.index)
        case .popularity:
            let seen = Set(train.indices[range].map(Int.init)).union(excludedRows)
            var out: [Int] = []
            for i in model.popularityOrder where !seen.contains(Int(i)) {
                out.append(Int(i))
                if out.count == k { break }
            }
            return out
        }
    }

    /// Every user's top-k list, indexed by user; empty for users not in `users`.
    public static func topLists(_ model: ServedModel, train: CSRMatrix, users: [Int], k: Int, lists: Lists, threads: Int = defaultThreadCount) -> [[Int]] {
        var out = [[Int]](repeating: [], count: train.rows)
        out.withUnsafeMutableBufferPointer { buffer in
            forEachList(model, users: users, train: train, k: k, lists: lists, workers: max(1, min(threads, users.count))) { _, u, list in buffer[u] = list }
        }
        return out
    }

    /// The mean overlap |A_u ∩ B_u| / k of reference lists (from `topLists`) and the
    /// model's lists over `users`: how well one way of ranking reproduces another.
    public static func agreement(_ model: ServedModel, train: CSRMatrix, users: [Int], k: Int, lists: Lists, reference: [[Int]], threads: Int = defaultThreadCount) -> Double {
        let workers = max(1, min(threads, users.count))
        var overlap = [Double](repeating: 0, count: workers)
        overlap.withUnsafeMutableBufferPointer { out in
            forEachList(model, users: users, train: train, k: k, lists: lists, workers: workers) { worker, u, list in
                let wanted = Set(reference[u])
                out[worker] += Double(list.filter { wanted.contains($0) }.count) / Double(k)
            }
        }
        return users.isEmpty ? 0 : overlap.reduce(0, +) / Double(users.count)
    }

    /// Maps test interactions into the train id spaces, dropping users and items the
    /// training data never saw (no model can rank an item it has no vector for).
    public static func align(test: Interactions, to train: Interactions) -> CSRMatrix {
        matrix(test, users: train.users, items: train.items, binary: true)
    }

    /// Interactions as a users × items matrix over given id spaces; records whose user or
    /// item is not in them are dropped. `binary` counts each pair once with weight 1; a
    /// weighted matrix (the queries' side) keeps each entry's recency (`latest`) unless
    /// `ordered` is false (its rows are then sets).
    public static func matrix(_ data: Interactions, users: IDMap, items: IDMap, binary: Bool, ordered: Bool = true) -> CSRMatrix {
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = [], times: [Double] = []
        for k in 0..<data.count {
            guard let u = users.index(of: data.users[data.userIndex[k]]),
                  let i = items.index(of: data.items[data.itemIndex[k]]) else { continue }
            rows.append(u)
            cols.append(i)
            values.append(binary ? 1 : data.weights[k])
            if let t = data.timestamps { times.append(t[k]) }
        }
        var m = CSRMatrix(rows: users.count, cols: items.count, rowIndex: rows, colIndex: cols, values: values, order: !binary && ordered,
                          timestamps: data.timestamps == nil || binary ? nil : times)
        if binary { m.values = [Float](repeating: 1, count: m.values.count) }
        return m
    }
}
