import Foundation
import UnfoldJSON
import UnfoldMath
import UnfoldServing

/// Items newer than a model (`NewItems`) in its answers: scored against the same query
/// vector, filtered as the table's items are, merged by score, marked `"new": true`.
extension RecommendRoutes {
    /// One entry of an answer: a row of the model's table or a new item.
    enum Entry {
        case row(Int, Float)
        case new(String, Float)

        var score: Float {
            switch self {
            case .row(_, let s), .new(_, let s): return s
            }
        }
    }

    /// The model's items merged with the new ones that pass the query's filters, best first.
    func merged(_ items: [(index: Int, score: Float)], query: RecommendQuery, posted: PostedItems, served: ServedModel) -> [Entry]? {
        guard let fresh = newItems.placed(for: served, histories: histories),
              let features = try? served.model.encoder.features(query.features),
              let q = Recommender.encode(posted.bag, features: features, with: served) else { return nil }
        let d = served.dimensions, now = Date().timeIntervalSince1970
        let seen = query.excludeSeen ? Set(posted.unknown) : []
        var entries = items.map { Entry.row($0.index, $0.score) }
        var added = false
        for (n, id) in fresh.ids.enumerated() {
            if seen.contains(id) || query.exclude.contains(id) { continue }
            if let include = query.include, !include.contains(id) { continue }
            let entry = catalogue.entry(id)
            if entry?.isHidden(at: now) == true { continue }
            if let categories = query.categories {
                guard let own = entry?.categories, !categories.isDisjoint(with: own) else { continue }
            }
            let score = q.withUnsafeBufferPointer { qp in fresh.vectors.withUnsafeBufferPointer { dot(qp.baseAddress!, $0.baseAddress! + n * d, d) } }
            entries.append(.new(id, score))
            added = true
        }
        guard added else { return nil }
        return Array(entries.sorted { $0.score > $1.score }.prefix(query.k))
    }

    /// `"items":[…]` for merged entries; `because` (JSON members) by row, for explanations.
    func write(_ entries: [Entry], _ served: ServedModel, because: [Int: [UInt8]], into json: inout JSONWriter) {
        var list: [UInt8] = [UInt8(ascii: "[")]
        for (n, entry) in entries.enumerated() {
            if n > 0 { list.append(UInt8(ascii: ",")) }
            switch entry {
            case .row(let index, let score): served.responseText.appendItem(index, score: score, extra: because[index], to: &list)
            case .new(let id, let score): ItemResponseText.appendNewItem(id: id, score: score, title: catalogue.entry(id)?.title, to: &list)
            }
        }
        list.append(UInt8(ascii: "]"))
        json.key("items")
        json.raw(bytes: list)
    }

    /// Cosine neighbours of a table item among the new items, or of a new item among both.
    func similarWithNew(_ id: String, index: Int?, k: Int, hidden: [Int32], served: ServedModel) -> [Entry]? {
        guard let fresh = newItems.placed(for: served, histories: histories) else { return nil }
        let d = served.dimensions, table = served.model.items
        let vector: [Float], norm: Float
        if let index {
            vector = Array(UnsafeBufferPointer(start: table.row(index), count: d))
            norm = table.norms[index]
        } else if let n = fresh.index[id] {
            vector = Array(fresh.vectors[(n * d)..<((n + 1) * d)])
            norm = fresh.norms[n]
        } else {
            return nil
        }
        var entries: [Entry]
        if let index {
            entries = Recommender.similar(to: index, k: k, hidden: hidden, with: served).map { .row($0.index, $0.score) }
        } else {
            // A new item: a scan of the table.
            let excluded = Set(hidden.map(Int.init))
            var scores = [Float](repeating: 0, count: table.count)
            scores.withUnsafeMutableBufferPointer { sp in
                vector.withUnsafeBufferPointer { matrixVector(table.vectors.base, rows: table.count, cols: d, $0.baseAddress!, into: sp.baseAddress!) }
                for j in 0..<table.count {
                    let denominator = norm * table.norms[j]
                    sp[j] = denominator > 0 ? sp[j] / denominator : 0
                }
            }
            entries = scores.withUnsafeBufferPointer { topK($0, k: k) { excluded.contains($0) } }.map { .row($0.index, $0.score) }
        }
        let now = Date().timeIntervalSince1970
        for (n, other) in fresh.ids.enumerated() where other != id && catalogue.entry(other)?.isHidden(at: now) != true {
            let denominator = norm * fresh.norms[n]
            guard denominator > 0 else { continue }
            let cosine = vector.withUnsafeBufferPointer { v in fresh.vectors.withUnsafeBufferPointer { dot(v.baseAddress!, $0.baseAddress! + n * d, d) } } / denominator
            entries.append(.new(other, cosine))
        }
        return Array(entries.sorted { $0.score > $1.score }.prefix(k))
    }
}
