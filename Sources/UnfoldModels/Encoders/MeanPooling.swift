import UnfoldMath

/// The query encoder of an item2vec model: the weighted mean of the posted items' vectors,
/// q = Σ r_i v_i / Σ r_i (the plain mean when every weight is zero).
public enum MeanPooling {
    /// Writes q into `out` (d floats) for items (row indices) of an n×d row-major table.
    public static func encode<Indices: Collection, Weights: Collection>(items: UnsafePointer<Float>, d: Int, indices: Indices, weights: Weights, out: UnsafeMutablePointer<Float>)
    where Indices.Element: BinaryInteger, Weights.Element == Float {
        out.update(repeating: 0, count: d)
        let total = weights.reduce(0, +)
        let count = Float(max(indices.count, 1))
        for (i, w) in zip(indices, weights) {
            axpy(total > 0 ? w / total : 1 / count, items + Int(i) * d, out, d)
        }
    }
}
