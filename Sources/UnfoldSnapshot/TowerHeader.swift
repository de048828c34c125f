import UnfoldModels

/// The JSON header of the tower section: everything needed to know the parameter shapes.
struct TowerHeader: Codable {
    var inputDimensions: Int
    var layers: [Int]
    var items: Int
    var features: [FeatureSpec]

    init(_ layout: TowerLayout) {
        inputDimensions = layout.inputDimensions
        layers = layout.layerSizes
        items = layout.items
        features = layout.features
    }

    enum CodingKeys: String, CodingKey {
        case layers, items, features
        case inputDimensions = "input_dimensions"
    }
}
