import UnfoldMath
import UnfoldModels

/// Everything a snapshot holds, in memory: what a trainer writes.
public struct SnapshotContents: Sendable {
    public var kind: ModelKind
    public var version: UInt64
    public var createdAt: UInt64
    public var items: ItemTable
    public var foldIn: FoldIn?
    /// The softmax model's query tower (nil for the other kinds).
    public var tower: Tower?
    public var popularity: [Float]
    /// Per item, `neighbourCount` nearest items (−1 padded) and their cosine scores.
    public var neighbourCount: Int
    public var neighbourIndices: [Int32]
    public var neighbourScores: [Float]
    public var metadata: ModelMetadata
    /// Titles and categories by item id, for items that have them.
    public var attributes: [String: ItemAttributes]

    public init(kind: ModelKind, version: UInt64, createdAt: UInt64, items: ItemTable, foldIn: FoldIn?, popularity: [Float],
                neighbourCount: Int, neighbourIndices: [Int32], neighbourScores: [Float], metadata: ModelMetadata, attributes: [String: ItemAttributes], tower: Tower? = nil) {
        self.kind = kind
        self.version = version
        self.createdAt = createdAt
        self.items = items
        self.foldIn = foldIn
        self.popularity = popularity
        self.neighbourCount = neighbourCount
        self.neighbourIndices = neighbourIndices
        self.neighbourScores = neighbourScores
        self.metadata = metadata
        self.attributes = attributes
        self.tower = tower
    }
}

/// What a person sees of an item, carried in the snapshot so a replica needs no other file.
public struct ItemAttributes: Sendable, Codable, Equatable {
    public var title: String?
    public var categories: [String]
    public init(title: String?, categories: [String]) {
        self.title = title
        self.categories = categories
    }
}

/// The JSON header of the tower section: everything needed to know the parameter shapes.
struct TowerHeader: Codable {
    var inputDimensions: Int
    var layers: [Int]
    var items: Int
    var features: [FeatureSpec]

    init(_ tower: Tower, items: Int) {
        inputDimensions = tower.inputDimensions
        layers = tower.layerSizes
        self.items = items
        features = tower.features
    }

    enum CodingKeys: String, CodingKey {
        case layers, items, features
        case inputDimensions = "input_dimensions"
    }
}
