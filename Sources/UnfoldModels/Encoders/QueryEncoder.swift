import UnfoldMath

/// How a model turns the items a user interacted with (and query features) into the query
/// vector q that retrieval scores against the item table. The trainer's evaluation, `unfold
/// evaluate` and the server all encode through this one type.
public enum QueryEncoder: Sendable, Equatable {
    /// Matrix factorization: the least-squares user vector (see `FoldIn`).
    case foldIn(FoldIn)
    /// The softmax model: a forward pass of the query tower (see `Tower`).
    case tower(Tower)
    /// item2vec: the weighted mean of the items' vectors (see `MeanPooling`).
    case meanPooling

    /// Floats of scratch space `encode` needs.
    public var scratchCount: Int {
        if case .foldIn(let f) = self { return f.scratchCount }
        return 0
    }

    /// The per-item score bias (the tower's), or nil.
    public var itemBias: PinnedArray<Float>? {
        if case .tower(let t) = self { return t.itemBias }
        return nil
    }

    /// Whether the encoder can answer from features alone, with no items (cold start).
    public var answersFromFeatures: Bool {
        if case .tower = self { return true }
        return false
    }

    /// A caller's feature values checked against the encoder's schema: only a tower has
    /// features, so any name is unknown to the others.
    public func features(_ values: [String: FeatureValue]) throws(FeatureError) -> FeatureInput {
        if case .tower(let t) = self { return try t.features(values) }
        if let name = values.keys.sorted().first { throw .unknown(name: name, known: []) }
        return .none
    }

    /// Writes q (d floats) into `out` for a bag of rows of `items` (n×d, row-major).
    /// `solved` is fold-in's optional table of G⁻¹v_i rows; `scratch` holds `scratchCount`
    /// floats. Returns false when fold-in's system is not positive definite (λ = 0 and too
    /// few items): the caller then answers without a model vector.
    ///
    /// A dislike (negative weight) is a preference of 0 to fold-in; the tower and mean
    /// pooling, which have no notion of one, leave it out.
    public func encode(items: UnsafePointer<Float>, dimensions d: Int, solved: UnsafePointer<Float>? = nil, bag: ItemBag, features: FeatureInput,
                       scratch: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>) -> Bool {
        switch self {
        case .foldIn(let foldIn):
            return foldIn.encode(items: items, solved: solved, bag: bag, scratch: scratch!, out: out)
        case .tower(let tower):
            tower.encode(bag: bag.withoutDislikes, features: features, out: out)
            return true
        case .meanPooling:
            let liked = bag.withoutDislikes
            MeanPooling.encode(items: items, d: d, indices: liked.indices, weights: liked.weights, out: out)
            return true
        }
    }

    /// The encoder's name, as `unfold inspect` shows it.
    public var name: String {
        switch self {
        case .foldIn: return "fold-in"
        case .tower: return "tower"
        case .meanPooling: return "mean-pooling"
        }
    }
}
