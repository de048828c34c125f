import UnfoldMath

/// The item embeddings of a model: row i of the n×d row-major `vectors` is the item with
/// external id `ids[i]`, and `norms[i]` is its length. Built by a trainer (owned memory) or
/// mapped from a snapshot file.
public struct ItemTable: Sendable {
    public let ids: [String]
    public let dimensions: Int
    public let vectors: PinnedArray<Float>
    public let norms: PinnedArray<Float>

    /// A trainer's table; the norms are computed.
    public init(ids: [String], vectors: Matrix) {
        precondition(ids.count == vectors.rows, "\(ids.count) ids for \(vectors.rows) vectors")
        self.ids = ids
        self.dimensions = vectors.cols
        self.vectors = PinnedArray(vectors.storage)
        let d = vectors.cols
        self.norms = PinnedArray(vectors.storage.withUnsafeBufferPointer { base in
            (0..<ids.count).map { sumOfSquares(base.baseAddress! + $0 * d, d).squareRoot() }
        })
    }

    /// A table whose rows and norms live elsewhere (a mapped snapshot).
    public init(ids: [String], dimensions: Int, vectors: PinnedArray<Float>, norms: PinnedArray<Float>) {
        precondition(vectors.count == ids.count * dimensions && norms.count == ids.count, "table shape does not match \(ids.count) ids")
        self.ids = ids
        self.dimensions = dimensions
        self.vectors = vectors
        self.norms = norms
    }

    public var count: Int { ids.count }

    /// Row i.
    @inlinable
    public func row(_ i: Int) -> UnsafePointer<Float> { vectors.base + i * dimensions }

    /// A copy of the rows as a matrix (for trainers and tools).
    public var matrix: Matrix { Matrix(rows: count, cols: dimensions, storage: vectors.array) }
}

extension ItemTable: Equatable {
    public static func == (a: ItemTable, b: ItemTable) -> Bool {
        a.ids == b.ids && a.dimensions == b.dimensions && a.vectors.buffer.elementsEqual(b.vectors.buffer)
    }
}
