import UnfoldMath
import UnfoldModels

/// What a caller asks for.
public struct RecommendQuery: Sendable {
    public var interactions: [(item: String, weight: Float)]
    public var k: Int
    public var excludeSeen: Bool
    public var exclude: Set<String>
    /// Only these items may be recommended (nil: all).
    public var include: Set<String>?
    /// Only items in one of these categories (nil: all).
    public var categories: Set<String>?
    /// Query features (softmax models); a name the model does not know is an error.
    public var features: [String: FeatureValue]

    public init(interactions: [(item: String, weight: Float)], k: Int, excludeSeen: Bool = true, exclude: Set<String> = [], include: Set<String>? = nil,
                categories: Set<String>? = nil, features: [String: FeatureValue] = [:]) {
        self.interactions = interactions
        self.k = k
        self.excludeSeen = excludeSeen
        self.exclude = exclude
        self.include = include
        self.categories = categories
        self.features = features
    }
}

public struct Recommendation: Sendable {
    public enum Source: String, Sendable { case model, popular }
    public var source: Source
    public var items: [(index: Int, score: Float)]
    public var unknownItems: [String]
}

/// Encode, retrieve, filter: the same for every model. Retrieval is an exact SIMD scan
/// of the item table with a partial top-k.
public enum Recommender {
    /// Throws when the query's features do not fit the model's schema.
    public static func recommend(_ query: RecommendQuery, with model: ServedModel) throws(FeatureError) -> Recommendation {
        var posted = PostedItems(capacity: query.interactions.count)
        for (item, weight) in query.interactions {
            if let index = model.indexByID[item] { posted.add(Int(index), weight: weight) } else { posted.unknown.append(item) }
        }
        return try recommend(query, posted: posted, with: model)
    }

    /// The same, for a caller that already resolved the posted ids against this model
    /// (`query.interactions` is then ignored).
    public static func recommend(_ query: RecommendQuery, posted: PostedItems, with model: ServedModel) throws(FeatureError) -> Recommendation {
        // Features first: an unknown name or a wrong type is the caller's error.
        var featureVector: [Float] = []
        if let tower = model.snapshot.tower {
            featureVector = try tower.featureVector(query.features)
        } else if let name = query.features.keys.sorted().first {
            throw .unknown(name: name, known: [])
        }
        let known = posted.indices, weights = posted.weights, unknown = posted.unknown
        // Excluded items as a sorted array: top-k asks only about its few candidates.
        var excludedList = query.excludeSeen ? known : []
        for id in query.exclude { if let index = model.indexByID[id] { excludedList.append(Int(index)) } }
        excludedList.sort()
        let excluded = SortedIndices(excludedList)
        let allowed = allowedSet(query, model)

        // A tower answers from features alone (cold start); the other encoders need items.
        guard !known.isEmpty || (model.snapshot.tower != nil && !query.features.isEmpty) else {
            return Recommendation(source: .popular, items: popular(model, k: query.k, excluded: excluded, allowed: allowed), unknownItems: unknown)
        }
        let d = model.dimensions
        let table = model.snapshot.itemTable
        var q = [Float](repeating: 0, count: d)
        if let encoder = model.snapshot.foldIn {
            // Matrix factorization: the fold-in solve.
            // Scratch the encoder overwrites: no need to zero it.
            let ok = withUnsafeTemporaryAllocation(of: Float.self, capacity: encoder.scratchCount) { s in
                q.withUnsafeMutableBufferPointer { out in
                    guard let solved = model.solvedItems else {
                        return encoder.encode(items: table, indices: known, weights: weights, scratch: s.baseAddress!, out: out.baseAddress!)
                    }
                    return solved.withUnsafeBufferPointer {
                        encoder.encode(items: table, solved: $0.baseAddress!, indices: known, weights: weights, scratch: s.baseAddress!, out: out.baseAddress!)
                    }
                }
            }
            guard ok else {
                return Recommendation(source: .popular, items: popular(model, k: query.k, excluded: excluded, allowed: allowed), unknownItems: unknown)
            }
        } else if let tower = model.snapshot.tower {
            // softmax: the forward pass of the query tower.
            q.withUnsafeMutableBufferPointer { tower.encode(indices: known, weights: weights, features: featureVector, out: $0.baseAddress!) }
        } else {
            // item2vec: the weighted mean of the posted items' vectors.
            q.withUnsafeMutableBufferPointer { MeanPooling.encode(items: table, d: d, indices: known, weights: weights, out: $0.baseAddress!) }
        }
        let items: [(index: Int, score: Float)] = q.withUnsafeBufferPointer { qp in
            withItemBias(model) { bias in
                if let allowed {
                    // A small candidate set: score just those.
                    return exactTopK(allowed.filter { !excluded.contains($0) }, query: qp.baseAddress!, table: table, d: d, bias: bias, k: query.k)
                }
                // The exact scan (large tables: bfloat16, then an exact rescan of the few candidates).
                return model.scanTable.topK(qp.baseAddress!, table: table, bias: bias, k: query.k) { excluded.contains($0) }
            }
        }
        return Recommendation(source: .model, items: items, unknownItems: unknown)
    }

    /// The softmax model's item biases as a pointer (nil for the other models).
    static func withItemBias<R>(_ model: ServedModel, _ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let bias = model.snapshot.tower?.itemBias else { return body(nil) }
        return bias.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// Items allowed by `include` and `categories`, or nil when both are absent.
    static func allowedSet(_ query: RecommendQuery, _ model: ServedModel) -> Set<Int>? {
        var allowed: Set<Int>?
        if let include = query.include {
            allowed = Set(include.compactMap { model.indexByID[$0].map(Int.init) })
        }
        if let categories = query.categories {
            var inCategories = Set<Int>()
            for c in categories { inCategories.formUnion((model.categoryMembers[c] ?? []).map(Int.init)) }
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
            out.append((i, model.snapshot.popularity[i]))
            if out.count == k { break }
        }
        return out
    }

    /// Cosine neighbours of an item: precomputed when k fits, else a scan.
    public static func similar(to index: Int, k: Int, with model: ServedModel) -> [(index: Int, score: Float)] {
        if k <= model.snapshot.neighbourCount {
            return Array(model.snapshot.neighbours(of: index).prefix(k))
        }
        let n = model.itemCount, d = model.dimensions
        let table = model.snapshot.itemTable, norms = model.snapshot.itemNorms
        var scores = [Float](repeating: 0, count: n)
        return scores.withUnsafeMutableBufferPointer { sp in
            matrixVector(table, rows: n, cols: d, table + index * d, into: sp.baseAddress!)
            let own = norms[index]
            for j in 0..<n {
                let denominator = own * norms[j]
                sp[j] = denominator > 0 ? sp[j] / denominator : 0
            }
            return topK(UnsafeBufferPointer(sp), k: k) { $0 == index }
        }
    }
}

/// The posted items resolved against a model: each known item once with its weights summed
/// (as in training), in first-seen order, and the ids the model does not know.
public struct PostedItems: Sendable {
    public private(set) var indices: [Int] = []
    public private(set) var weights: [Float] = []
    public var unknown: [String] = []
    private var position: [Int: Int] = [:]

    public init(capacity: Int = 0) {
        indices.reserveCapacity(capacity)
        weights.reserveCapacity(capacity)
    }

    /// Adds a known item; a repeat adds its weight to the first (a linear scan for the
    /// usual few items, a dictionary past 32).
    public mutating func add(_ index: Int, weight: Float) {
        let p = indices.count > 32 ? position[index] : indices.firstIndex(of: index)
        if let p {
            weights[p] += weight
            return
        }
        if indices.count == 32 { for (k, i) in indices.enumerated() { position[i] = k } }
        if indices.count >= 32 { position[index] = indices.count }
        indices.append(index)
        weights.append(weight)
    }
}

/// A sorted list of indices with a binary-search `contains`.
struct SortedIndices {
    let values: [Int]
    init(_ sorted: [Int]) { values = sorted }

    func contains(_ x: Int) -> Bool {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < values.count && values[lo] == x
    }
}
