import UnfoldMath

/// A query feature of the softmax model's tower, as stored in the snapshot.
public struct FeatureSpec: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case numeric, categorical }
    public var name: String
    public var kind: Kind
    /// Numeric: the value enters the tower as (x − mean) / std; a missing value as 0.
    public var mean: Float
    public var std: Float
    /// Categorical: the known values; index 0 of the embedding table is "unknown or missing",
    /// value `values[k]` has row k + 1.
    public var values: [String]
    /// Categorical: the embedding width (numeric features take one input).
    public var dimensions: Int

    public static func numeric(_ name: String, mean: Float, std: Float) -> FeatureSpec {
        FeatureSpec(name: name, kind: .numeric, mean: mean, std: std, values: [], dimensions: 1)
    }

    public static func categorical(_ name: String, values: [String], dimensions: Int) -> FeatureSpec {
        FeatureSpec(name: name, kind: .categorical, mean: 0, std: 1, values: values, dimensions: dimensions)
    }

    /// Floats of this feature's embedding table (categorical), else 0.
    public var tableCount: Int { kind == .categorical ? (values.count + 1) * dimensions : 0 }

    /// A categorical value's embedding row: k + 1 for `values[k]`, 0 for unknown or missing.
    public func row(_ value: FeatureValue?) -> Int {
        if case .string(let s)? = value, let k = values.firstIndex(of: s) { return k + 1 }
        return 0
    }

    /// A numeric value as the tower reads it: (x − mean) / std, 0 when missing.
    public func input(_ value: FeatureValue?) -> Float {
        if case .number(let x)? = value { return (Float(x) - mean) / (std > 0 ? std : 1) }
        return 0
    }
}

/// A query feature value as posted in a request or read from a user-features file.
public enum FeatureValue: Sendable, Equatable {
    case number(Double)
    case string(String)
}

/// Why a request's features do not fit the model's schema.
public enum FeatureError: Error, Equatable, CustomStringConvertible {
    case unknown(name: String, known: [String])
    case wrongType(name: String, expected: FeatureSpec.Kind)

    public var description: String {
        switch self {
        case .unknown(let name, let known):
            return "unknown feature '\(name)'; this model's features are: " + (known.isEmpty ? "(none)" : known.joined(separator: ", "))
        case .wrongType(let name, let expected):
            return "feature '\(name)' must be " + (expected == .numeric ? "a number" : "a string")
        }
    }
}

/// The query tower of the softmax model:
///
///     x = [ Σ w_i e_i / Σ w_i  (input embeddings of the posted items) ;  features ]
///     h_1 = ReLU(W_1 x + b_1), …, h_{L−1} = ReLU(W_{L−1} h_{L−2} + b_{L−1}),  q = W_L h_{L−1} + b_L
///
/// and the score of item i is q · v_i + bias_i with v_i the item table. Features are
/// categorical embeddings (unknown values and missing features use row 0) and standardized
/// numbers, concatenated in schema order.
public struct Tower: Sendable, Equatable {
    /// Width e of the input item embeddings.
    public var inputDimensions: Int
    public var features: [FeatureSpec]
    /// Widths of every layer's output, the last one the query dimension d.
    public var layerSizes: [Int]
    /// n × e input item embeddings (row-major).
    public var inputTable: [Float]
    /// One embedding table per feature in schema order ((values + 1) × dims; empty for numeric).
    public var featureTables: [[Float]]
    /// Per layer: out × in weights (row-major) and out biases.
    public var weights: [[Float]]
    public var biases: [[Float]]
    /// Per item output bias.
    public var itemBias: [Float]

    public init(inputDimensions: Int, features: [FeatureSpec], layerSizes: [Int], inputTable: [Float], featureTables: [[Float]],
                weights: [[Float]], biases: [[Float]], itemBias: [Float]) {
        self.inputDimensions = inputDimensions
        self.features = features
        self.layerSizes = layerSizes
        self.inputTable = inputTable
        self.featureTables = featureTables
        self.weights = weights
        self.biases = biases
        self.itemBias = itemBias
    }

    /// Width of the tower's input x.
    public var featureWidth: Int { features.reduce(0) { $0 + $1.dimensions } }
    public var inputWidth: Int { inputDimensions + featureWidth }
    public var outputDimensions: Int { layerSizes.last ?? 0 }
    /// (in, out) of each layer.
    public var layerShapes: [(input: Int, output: Int)] {
        var shapes: [(Int, Int)] = []
        var width = inputWidth
        for size in layerSizes {
            shapes.append((width, size))
            width = size
        }
        return shapes
    }

    public var featureNames: [String] { features.map(\.name) }

    /// The feature part of x for the given values: throws for a name the schema does not
    /// have or a value of the wrong type. Missing features contribute their default.
    public func featureVector(_ values: [String: FeatureValue]) throws(FeatureError) -> [Float] {
        for (name, value) in values {
            guard let spec = features.first(where: { $0.name == name }) else { throw .unknown(name: name, known: featureNames) }
            switch (spec.kind, value) {
            case (.numeric, .number), (.categorical, .string): break
            default: throw .wrongType(name: name, expected: spec.kind)
            }
        }
        var out: [Float] = []
        out.reserveCapacity(featureWidth)
        for (f, spec) in features.enumerated() {
            switch spec.kind {
            case .numeric:
                out.append(spec.input(values[spec.name]))
            case .categorical:
                let row = spec.row(values[spec.name])
                out.append(contentsOf: featureTables[f][(row * spec.dimensions)..<((row + 1) * spec.dimensions)])
            }
        }
        return out
    }

    /// The forward pass: writes q (d floats) into `out`. `items` are row indices of the
    /// input table with their weights; `features` is the output of `featureVector`.
    public func encode<Indices: Collection, Weights: Collection>(indices: Indices, weights: Weights, features: [Float], out: UnsafeMutablePointer<Float>)
    where Indices.Element: BinaryInteger, Weights.Element == Float {
        var x = [Float](repeating: 0, count: inputWidth)
        inputTable.withUnsafeBufferPointer { table in
            x.withUnsafeMutableBufferPointer { xp in
                MeanPooling.encode(items: table.baseAddress!, d: inputDimensions, indices: indices, weights: weights, out: xp.baseAddress!)
            }
        }
        for (k, v) in features.enumerated() { x[inputDimensions + k] = v }
        for (l, shape) in layerShapes.enumerated() {
            var y = biases[l]
            self.weights[l].withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { xp in
                    for r in 0..<shape.output {
                        y[r] += dot(w.baseAddress! + r * shape.input, xp.baseAddress!, shape.input)
                    }
                }
            }
            if l < layerSizes.count - 1 {
                for r in 0..<shape.output where y[r] < 0 { y[r] = 0 }
            }
            x = y
        }
        for k in 0..<x.count { out[k] = x[k] }
    }

    /// Every parameter array, in the order the snapshot stores them.
    public var parameterArrays: [[Float]] {
        [inputTable] + featureTables + zip(weights, biases).flatMap { [$0, $1] } + [itemBias]
    }
}
