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
    /// Rows never to return (the catalogue's hidden, deleted and expired items), ascending.
    public var hiddenRows: [Int32] = []
    /// Category → rows replacing the model's own index (the catalogue's categories), or nil.
    public var categoryMembers: [String: Set<Int32>]?
    /// Scan the whole table exactly even when the model has an approximate index (audits).
    public var exact = false

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
