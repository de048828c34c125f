import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing

/// Items that appeared after a model's training data: once `minUsers` distinct users have
/// interacted with an item a served model does not know, the model answers with it too,
/// marked new, until a retrain includes it.
///
/// Where the item goes in the model's space:
/// - fold-in models: item fold-in, the least-squares step with the roles swapped, against the
///   fold-in vectors of those users' stored histories and the users' Gram stored in the
///   snapshot (`FoldIn.itemVector`);
/// - item2vec and softmax: the mean of the vectors of the (known) items those users
///   interacted with, each user's items weighted by their weights, users alike.
///
/// Tracked: per item, the users and their summed weights (at most `maxUsers` users an item,
/// `maxItems` items); the vectors are placed per served model when asked and kept until an
/// event changes what they rest on.
final class NewItems: @unchecked Sendable {  // everything is guarded by `lock`
    static let maxUsers = 1000, maxItems = 100_000
    /// Users whose histories place one item (the latest to interact).
    static let placingUsers = 200

    let minUsers: Int
    private let lock = NSLock()
    private var users: [String: [String: Float]] = [:]
    private var order: [String: [String]] = [:]
    private var generation = 0
    private var placed: [UserHistories.ModelKey: Placed] = [:]

    /// The new items a served model answers with, at one generation of the events.
    struct Placed: Sendable {
        var generation: Int
        var ids: [String]
        /// ids.count × d, row-major.
        var vectors: [Float]
        var norms: [Float]
        var index: [String: Int]
    }

    init(minUsers: Int) {
        self.minUsers = minUsers
    }

    /// Counts acknowledged events on items that `known` does not hold (a loaded model lacks).
    func observe(_ records: [InteractionLog.Record], unknown: (String) -> Bool) {
        guard minUsers > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        for r in records where r.weight >= 0 && unknown(r.item) {
            if users[r.item] == nil {
                guard users.count < Self.maxItems else { continue }
                users[r.item] = [:]
            }
            if users[r.item]![r.user] == nil {
                guard users[r.item]!.count < Self.maxUsers else { continue }
                order[r.item, default: []].append(r.user)
            }
            users[r.item]![r.user, default: 0] += r.weight
            generation += 1
        }
    }

    /// The items `served` answers with beside its table, placed now if events changed.
    func placed(for served: ServedModel, histories: UserHistories) -> Placed? {
        lock.lock()
        defer { lock.unlock() }
        guard minUsers > 0, !users.isEmpty else { return nil }
        let key = UserHistories.ModelKey(object: ObjectIdentifier(served), version: served.version)
        if let p = placed[key], p.generation == generation { return p.ids.isEmpty ? nil : p }
        let d = served.dimensions
        var result = Placed(generation: generation, ids: [], vectors: [], norms: [], index: [:])
        for item in users.keys.sorted() where users[item]!.count >= minUsers && served.index(of: item) == nil {
            let who = Array(order[item]!.suffix(Self.placingUsers))
            guard let v = place(who, weights: who.map { users[item]![$0]! }, in: served, histories: histories), v.count == d else { continue }
            result.index[item] = result.ids.count
            result.ids.append(item)
            result.vectors += v
            result.norms.append(v.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        if placed.count > 8 { placed.removeAll() }
        placed[key] = result
        return result.ids.isEmpty ? nil : result
    }

    private func place(_ who: [String], weights: [Float], in served: ServedModel, histories: UserHistories) -> [Float]? {
        let d = served.dimensions, table = served.model.items.vectors.base
        let key = UserHistories.ModelKey(object: ObjectIdentifier(served), version: served.version)
        switch served.model.encoder {
        case .foldIn(let foldIn):
            var xs: [Float] = [], ws: [Float] = []
            for (user, weight) in zip(who, weights) {
                guard let posted = histories.posted(of: user, model: key, resolve: { served.index(of: $0) }), !posted.bag.isEmpty,
                      let x = Recommender.encode(posted.bag, features: .none, with: served) else { continue }
                xs += x
                ws.append(weight)
            }
            guard !ws.isEmpty else { return nil }
            return xs.withUnsafeBufferPointer { foldIn.itemVector(users: $0.baseAddress!, count: ws.count, weights: ws) }
        case .meanPooling, .tower:
            var v = [Float](repeating: 0, count: d)
            var placedUsers = 0
            for user in who {
                guard let posted = histories.posted(of: user, model: key, resolve: { served.index(of: $0) }) else { continue }
                let liked = posted.bag.withoutDislikes
                let total = liked.weights.reduce(0, +)
                guard total > 0 else { continue }
                v.withUnsafeMutableBufferPointer { out in
                    for (i, w) in zip(liked.indices, liked.weights) { axpy(w / total, table + Int(i) * d, out.baseAddress!, d) }
                }
                placedUsers += 1
            }
            guard placedUsers > 0 else { return nil }
            return v.map { $0 / Float(placedUsers) }
        }
    }
}
