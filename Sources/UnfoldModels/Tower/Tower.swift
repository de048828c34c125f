import UnfoldMath

/// The query tower of the softmax model: its parameters in `layout` order and a bias per
/// item. The score of item i for a query q is q · v_i + itemBias[i], v_i the item table.
/// Features are categorical embeddings (unknown values and missing features use row 0) and
/// standardized numbers, concatenated in schema order after the bag mean.
public struct Tower: Sendable, Equatable {
    public let layout: TowerLayout
    /// `layout.count` floats: input table, feature tables, layers.
    public let parameters: PinnedArray<Float>
    public let itemBias: PinnedArray<Float>

    public init(layout: TowerLayout, parameters: PinnedArray<Float>, itemBias: PinnedArray<Float>) {
        precondition(parameters.count == layout.count && itemBias.count == layout.items, "tower parameters do not fit the layout")
        self.layout = layout
        self.parameters = parameters
        self.itemBias = itemBias
    }

    public var features: [FeatureSpec] { layout.features }
    public var featureNames: [String] { layout.features.map(\.name) }

    /// A caller's feature values, checked against the schema.
    public func features(_ values: [String: FeatureValue]) throws(FeatureError) -> FeatureInput {
        try FeatureInput(validating: values, schema: layout.features)
    }

    /// The forward pass for a bag of items (rows of the input table, weighted mean) and the
    /// features: writes q (d floats) into `out`.
    public func encode(bag: ItemBag, features: FeatureInput, out: UnsafeMutablePointer<Float>) {
        let pass = TowerPass(layout: layout)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: max(layout.inputDimensions, 1)) { mean in
            MeanPooling.encode(items: parameters.base + layout.inputTable, d: layout.inputDimensions, indices: bag.indices, weights: bag.weights, out: mean.baseAddress!)
            pass.forward(parameters: parameters.base, bag: mean.baseAddress!, features: features)
        }
        out.update(from: pass.output, count: layout.outputDimensions)
    }

    public static func == (a: Tower, b: Tower) -> Bool {
        a.layout == b.layout && a.parameters.buffer.elementsEqual(b.parameters.buffer) && a.itemBias.buffer.elementsEqual(b.itemBias.buffer)
    }
}
