import UnfoldModels

/// What a caller asks for, besides the items it posts.
public struct RecommendQuery: Sendable {
    public var k: Int
    /// Leave out the posted items.
    public var excludeSeen: Bool
    public var exclude: Set<String>
    /// Only these items may be recommended (nil: all).
    public var include: Set<String>?
    /// Only items in one of these categories (nil: all).
    public var categories: Set<String>?
    /// Query features (softmax models); a name the model does not know is an error.
    public var features: [String: FeatureValue]

    public init(k: Int, excludeSeen: Bool = true, exclude: Set<String> = [], include: Set<String>? = nil,
                categories: Set<String>? = nil, features: [String: FeatureValue] = [:]) {
        self.k = k
        self.excludeSeen = excludeSeen
        self.exclude = exclude
        self.include = include
        self.categories = categories
        self.features = features
    }
}

/// The posted items resolved against a served model: the bag it knows, and the ids it does not.
public struct PostedItems: Sendable {
    public var bag: ItemBag
    public var unknown: [String] = []

    public init(capacity: Int = 0) { bag = ItemBag(capacity: capacity) }

    public init(bag: ItemBag) { self.bag = bag }
}

/// The answer: items best first with their exact scores, and where they came from.
public struct Recommendation: Sendable {
    public enum Source: String, Sendable { case model, popular }
    public var source: Source
    public var items: [(index: Int, score: Float)]
    public var unknownItems: [String]
}
