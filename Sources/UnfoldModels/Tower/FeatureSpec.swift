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
