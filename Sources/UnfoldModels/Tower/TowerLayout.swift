/// Where each parameter of a query tower lives in one flat Float array, in the order the
/// snapshot stores them: the n × e input item embeddings, the feature embedding tables in
/// schema order, then per layer its out × in weights (row-major) and out biases. A trainer
/// appends the item table and the item biases after these; the tower never reads them.
public struct TowerLayout: Sendable, Equatable {
    /// n items, input embeddings of width e, queries of dimension d.
    public let items: Int
    public let inputDimensions: Int
    public let outputDimensions: Int
    public let features: [FeatureSpec]
    /// Widths of every layer's output, the last one d.
    public let layerSizes: [Int]
    public let inputTable: Int
    public let featureTables: [Int]
    /// Offset in x of each feature's slice.
    public let featureSlots: [Int]
    public let weights: [Int]
    public let biases: [Int]
    /// The feature tables and layers (dense: every batch updates them).
    public let denseStart: Int
    /// Floats of the tower's parameters.
    public let count: Int

    public init(items n: Int, inputDimensions e: Int, hidden: [Int], outputDimensions d: Int, features: [FeatureSpec]) {
        items = n
        inputDimensions = e
        outputDimensions = d
        self.features = features
        layerSizes = hidden + [d]
        var offset = 0
        inputTable = 0
        offset += n * e
        denseStart = offset
        var tables: [Int] = [], slots: [Int] = []
        var slot = e
        for f in features {
            tables.append(offset)
            offset += f.tableCount
            slots.append(slot)
            slot += f.dimensions
        }
        featureTables = tables
        featureSlots = slots
        var w: [Int] = [], b: [Int] = []
        var width = slot
        for size in layerSizes {
            w.append(offset)
            offset += width * size
            b.append(offset)
            offset += size
            width = size
        }
        weights = w
        biases = b
        count = offset
    }

    /// Width of the tower's input x = [bag mean; features].
    public var inputWidth: Int { inputDimensions + features.reduce(0) { $0 + $1.dimensions } }

    /// (in, out) of each layer.
    public var shapes: [(input: Int, output: Int)] {
        var shapes: [(Int, Int)] = []
        var width = inputWidth
        for size in layerSizes {
            shapes.append((width, size))
            width = size
        }
        return shapes
    }

    public static func == (a: TowerLayout, b: TowerLayout) -> Bool {
        a.items == b.items && a.inputDimensions == b.inputDimensions && a.layerSizes == b.layerSizes && a.features == b.features
    }
}
