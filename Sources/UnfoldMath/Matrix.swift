/// A dense row-major matrix of Float32: row `i` is `storage[i*cols ..< (i+1)*cols]`.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var storage: [Float]

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0)
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(storage.count == rows * cols, "storage has \(storage.count) values, expected \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// Entries drawn from N(0, scale^2), reproducible for a seed.
    public static func random(rows: Int, cols: Int, scale: Float, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        var m = Matrix(rows: rows, cols: cols)
        for i in 0..<m.storage.count { m.storage[i] = rng.nextGaussian() * scale }
        return m
    }

    @inlinable
    public subscript(row: Int, col: Int) -> Float {
        get { storage[row * cols + col] }
        set { storage[row * cols + col] = newValue }
    }

    public func row(_ i: Int) -> ArraySlice<Float> {
        storage[(i * cols)..<((i + 1) * cols)]
    }

    /// The squared Frobenius norm, sum of all squared entries.
    public var frobeniusNormSquared: Float {
        storage.withUnsafeBufferPointer { sumOfSquares($0.baseAddress!, $0.count) }
    }

    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows {
            for j in 0..<cols { t.storage[j * rows + i] = storage[i * cols + j] }
        }
        return t
    }

    /// True when every entry is finite (no NaN or infinity).
    public var isFinite: Bool {
        storage.allSatisfy { $0.isFinite }
    }
}
