/// What a trained model is, whoever made it and wherever it lives: an item table, the
/// query encoder that places a user in the table's space, the items' popularity (the
/// fallback when a query has nothing to encode), precomputed neighbour lists, what people
/// see of the items, and metadata with the recipe and the evaluation. A trainer builds one
/// in memory; a snapshot file holds one, mapped.
public struct Model: Sendable {
    public var kind: ModelKind
    /// Milliseconds since the epoch; newer versions of a name replace older ones.
    public var version: UInt64
    /// Seconds since the epoch.
    public var createdAt: UInt64
    public var items: ItemTable
    public var encoder: QueryEncoder
    /// Interactions per item in the training data.
    public var popularity: [Float]
    public var neighbours: NeighbourLists
    public var metadata: ModelMetadata
    /// Titles and categories by item id, for items that have them.
    public var attributes: [String: ItemAttributes]
    /// The approximate inner-product index over the items (large catalogues), if built.
    public var index: ItemIndex?

    public init(kind: ModelKind, version: UInt64, createdAt: UInt64, items: ItemTable, encoder: QueryEncoder, popularity: [Float],
                neighbours: NeighbourLists = .none, metadata: ModelMetadata, attributes: [String: ItemAttributes] = [:]) {
        precondition(popularity.count == items.count, "one popularity count per item")
        self.kind = kind
        self.version = version
        self.createdAt = createdAt
        self.items = items
        self.encoder = encoder
        self.popularity = popularity
        self.neighbours = neighbours
        self.metadata = metadata
        self.attributes = attributes
    }

    public var itemCount: Int { items.count }
    public var dimensions: Int { items.dimensions }
}
