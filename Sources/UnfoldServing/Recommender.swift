import Dispatch
import UnfoldMath
import UnfoldModels

/// Encode, retrieve, filter: the same for every model, and the same for the server, for
/// `unfold evaluate` and for the evaluation a trainer writes into a snapshot. Retrieval is
/// an exact scan of the item table with a partial top-k; the popularity list answers a
/// query with nothing to encode, or whose encoding fails.
public enum Recommender {
    /// Throws when the query's features do not fit the model's schema.
    public static func recommend(_ query: RecommendQuery, posted: PostedItems, with model: ServedModel) throws(FeatureError) -> Recommendation {
        // Features first: an unknown name or a wrong type is the caller's error.
        let encoder = model.model.encoder
        let features = try encoder.features(query.features)
        let bag = posted.bag
        // Excluded items as a sorted array: top-k asks only about its few candidates.
        var excludedList = query.excludeSeen ? bag.indices.map(Int.init) : []
        // A disliked item (negative summed weight) is never recommended, whatever exclude_seen says.
        if !query.excludeSeen && bag.hasDislikes {
            for (i, w) in zip(bag.indices, bag.weights) where w < 0 { excludedList.append(Int(i)) }
        }
        for id in query.exclude { if let index = model.index(of: id) { excludedList.append(index) } }
        for row in query.hiddenRows { excludedList.append(Int(row)) }
        excludedList.sort()
        let excluded = SortedIndices(excludedList)
        let allowed = allowedSet(query, model)
        let stats = model.stats
        let start = stats.clock()
        stats.postedUnknown(posted.unknown.count)
        func popular() -> Recommendation {
            defer { stats.answeredByPopularity(since: start) }
            return Recommendation(source: .popular, items: Self.popular(model, k: query.k, excluded: excluded, allowed: allowed), unknownItems: posted.unknown)
        }
        // A tower answers from features alone (cold start); the other encoders need items.
        // Only dislikes, or nothing: no taste to encode.
        guard bag.weights.contains(where: { $0 >= 0 }) || (encoder.answersFromFeatures && !query.features.isEmpty) else { return popular() }
        let encodeStart = stats.clock()
        guard let q = encode(bag, features: features, with: model) else {
            stats.foldInFailed()
            return popular()
        }
        let encoded = stats.clock()
        var rescored = 0
        let items = retrieve(q, k: query.k, excluded: excluded, allowed: allowed, exact: query.exact, rescored: &rescored, with: model)
        stats.answeredByModel(start: start, encodeStart: encodeStart, encoded: encoded, rescored: rescored)
        return Recommendation(source: .model, items: items, unknownItems: posted.unknown)
    }

    /// The query vector for a bag and features, or nil when the encoder cannot place it
    /// (fold-in's system not positive definite).
    public static func encode(_ bag: ItemBag, features: FeatureInput, with model: ServedModel) -> [Float]? {
        let encoder = model.model.encoder
        var q = [Float](repeating: 0, count: model.dimensions)
        // Scratch the encoder overwrites: no need to zero it.
        let ok = withUnsafeTemporaryAllocation(of: Float.self, capacity: max(encoder.scratchCount, 1)) { scratch in
            q.withUnsafeMutableBufferPointer { out in
                let table = model.model.items.vectors.base
                guard let solved = model.solvedItems else {
                    return encoder.encode(items: table, dimensions: model.dimensions, bag: bag, features: features, scratch: scratch.baseAddress!, out: out.baseAddress!)
                }
                return solved.withUnsafeBufferPointer {
                    encoder.encode(items: table, dimensions: model.dimensions, solved: $0.baseAddress!, bag: bag, features: features, scratch: scratch.baseAddress!, out: out.baseAddress!)
                }
            }
        }
        return ok ? q : nil
    }

    /// The k best items for a query vector: scores q·v_i (+ the encoder's item bias), exact,
    /// best first, ties by lower index; `excluded` never, only `allowed` when given. With an
    /// approximate index (and not `exact`) the items come from its probed lists; their scores
    /// are still exact.
    static func retrieve(_ q: [Float], k: Int, excluded: SortedIndices, allowed: Set<Int>?, exact: Bool = false, rescored: inout Int,
                         with model: ServedModel) -> [(index: Int, score: Float)] {
        let table = model.model.items.vectors.base, d = model.dimensions, n = model.itemCount
        let bias = model.model.encoder.itemBias?.base
        return q.withUnsafeBufferPointer { qp in
            let index = exact ? nil : model.index
            if let allowed {
                // A small candidate set (no more than a search would score): just those.
                let searched = index.map { n * $0.probes / $0.lists } ?? n
                if let index, allowed.count > searched {
                    return index.search(qp.baseAddress!, k: k, table: table, excluded: { excluded.contains($0) },
                                        allowed: { allowed.contains($0) }, selectivity: Double(allowed.count) / Double(n))
                }
                return exactTopK(allowed.filter { !excluded.contains($0) }, query: qp.baseAddress!, table: table, d: d, bias: bias, k: k)
            }
            if let index { return index.search(qp.baseAddress!, k: k, table: table, excluded: { excluded.contains($0) }) }
            guard let scanTable = model.scanTable else {
                // Indexed model, exact scan asked for: one Float32 pass over the table.
                return withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { scores in
                    matrixVector(table, rows: n, cols: d, qp.baseAddress!, into: scores.baseAddress!)
                    if let bias { for i in 0..<n { scores[i] += bias[i] } }
                    return topK(UnsafeBufferPointer(scores), k: k) { excluded.contains($0) }
                }
            }
            // The exact scan (large tables: bfloat16, then an exact rescan of the few candidates),
            // in a pass shared with the scans running at the same time.
            guard let batcher = model.scanBatcher else {
                return scanTable.topK(qp.baseAddress!, table: table, bias: bias, k: k, rescored: &rescored) { excluded.contains($0) }
            }
            return batcher.topK(q, k: k, rescored: &rescored) { excluded.contains($0) }
        }
    }

    /// The k best items for a query vector, leaving out `excluded` (sorted): for callers
    /// that have a vector already (a trained user vector, in evaluation).
    public static func retrieve(_ q: [Float], k: Int, excluding excluded: [Int], exact: Bool = false, with model: ServedModel) -> [(index: Int, score: Float)] {
        var rescored = 0
        return retrieve(q, k: k, excluded: SortedIndices(excluded), allowed: nil, exact: exact, rescored: &rescored, with: model)
    }

    /// Items allowed by `include` and `categories`, or nil when both are absent.
    static func allowedSet(_ query: RecommendQuery, _ model: ServedModel) -> Set<Int>? {
        var allowed: Set<Int>?
        if let include = query.include {
            allowed = Set(include.compactMap { model.index(of: $0) })
        }
        if let categories = query.categories {
            var inCategories = Set<Int>()
            let members = query.categoryMembers ?? model.categoryMembers
            for c in categories { inCategories.formUnion((members[c] ?? []).map(Int.init)) }
            allowed = allowed.map { $0.intersection(inCategories) } ?? inCategories
        }
        return allowed
    }

    /// The most popular items that pass the filters; the score is the interaction count.
    static func popular(_ model: ServedModel, k: Int, excluded: SortedIndices, allowed: Set<Int>?) -> [(index: Int, score: Float)] {
        var out: [(index: Int, score: Float)] = []
        for index in model.popularityOrder {
            let i = Int(index)
            if excluded.contains(i) { continue }
            if let allowed, !allowed.contains(i) { continue }
            out.append((i, model.model.popularity[i]))
            if out.count == k { break }
        }
        return out
    }

    /// Cosine neighbours of an item, leaving out `hidden` rows (ascending): precomputed when
    /// k of them remain in the stored list, else a scan.
    public static func similar(to index: Int, k: Int, hidden: [Int32] = [], with model: ServedModel) -> [(index: Int, score: Float)] {
        let items = model.model.items
        let excluded = SortedIndices(hidden.map(Int.init))
        if k <= model.model.neighbours.perItem {
            let stored = model.model.neighbours.of(index)
            let kept = hidden.isEmpty ? Array(stored.prefix(k)) : Array(stored.lazy.filter { !excluded.contains($0.index) }.prefix(k))
            // A list shorter than its slots holds every other item: nothing more to scan for.
            if kept.count == k || stored.count < model.model.neighbours.perItem { return kept }
        }
        let n = items.count, d = items.dimensions
        if let ann = model.index {
            // Beyond the stored lists of a large catalogue: candidates from the index by inner
            // product with the item (from twice the usual lists), ranked by cosine.
            let own = items.norms[index]
            let candidates = ann.search(items.row(index), k: max(10 * k, 100), table: items.vectors.base, probes: 2 * ann.probes) {
                $0 == index || excluded.contains($0)
            }
            var ranked: [(index: Int, score: Float)] = []
            ranked.reserveCapacity(candidates.count)
            for c in candidates {
                let denominator: Float = own * items.norms[c.index]
                ranked.append((c.index, denominator > 0 ? c.score / denominator : 0))
            }
            ranked.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
            return Array(ranked.prefix(k))
        }
        var scores = [Float](repeating: 0, count: n)
        return scores.withUnsafeMutableBufferPointer { sp in
            matrixVector(items.vectors.base, rows: n, cols: d, items.row(index), into: sp.baseAddress!)
            let own = items.norms[index]
            for j in 0..<n {
                let denominator = own * items.norms[j]
                sp[j] = denominator > 0 ? sp[j] / denominator : 0
            }
            return topK(UnsafeBufferPointer(sp), k: k) { $0 == index || excluded.contains($0) }
        }
    }
}
