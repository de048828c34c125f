/// A sparse matrix in compressed sparse row form: the entries of row r are
/// `indices[indptr[r]..<indptr[r+1]]` (sorted, unique) with `values` alongside.
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var indptr: [Int]
    public var indices: [Int32]
    public var values: [Float]

    public var nonZeroCount: Int { indices.count }

    public init(rows: Int, cols: Int, indptr: [Int], indices: [Int32], values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.indptr = indptr
        self.indices = indices
        self.values = values
    }

    /// Builds from coordinates; duplicate (row, col) entries are summed.
    public init(rows: Int, cols: Int, rowIndex: [Int32], colIndex: [Int32], values: [Float]) {
        precondition(rowIndex.count == colIndex.count && colIndex.count == values.count)
        let counts = Self.rowStarts(of: rowIndex, rows: rows)
        var cursor = counts
        var cols0 = [Int32](repeating: 0, count: rowIndex.count)
        var vals0 = [Float](repeating: 0, count: rowIndex.count)
        for k in 0..<rowIndex.count {
            let r = Int(rowIndex[k])
            cols0[cursor[r]] = colIndex[k]
            vals0[cursor[r]] = values[k]
            cursor[r] += 1
        }
        // Sort each row by column and merge duplicates.
        var indptr = [Int](repeating: 0, count: rows + 1)
        var indices: [Int32] = []
        var merged: [Float] = []
        indices.reserveCapacity(cols0.count)
        merged.reserveCapacity(cols0.count)
        var order: [Int] = []
        for r in 0..<rows {
            let start = counts[r], end = counts[r + 1]
            order = Array(start..<end)
            order.sort { cols0[$0] < cols0[$1] }
            for k in order {
                if let last = indices.last, indices.count > indptr[r], last == cols0[k] {
                    merged[merged.count - 1] += vals0[k]
                } else {
                    indices.append(cols0[k])
                    merged.append(vals0[k])
                }
            }
            indptr[r + 1] = indices.count
        }
        self.init(rows: rows, cols: cols, indptr: indptr, indices: indices, values: merged)
    }

    @inlinable public func rowRange(_ r: Int) -> Range<Int> { indptr[r]..<indptr[r + 1] }

    @inlinable public func rowCount(_ r: Int) -> Int { indptr[r + 1] - indptr[r] }

    /// Where each row's entries start once grouped by row (`rows + 1` offsets): the prefix
    /// sums of how many entries each row index has.
    static func rowStarts(of rowIndex: [Int32], rows: Int) -> [Int] {
        var starts = [Int](repeating: 0, count: rows + 1)
        for r in rowIndex { starts[Int(r) + 1] += 1 }
        for r in 0..<rows { starts[r + 1] += starts[r] }
        return starts
    }

    /// The same entries with rows and columns exchanged.
    public func transposed() -> CSRMatrix {
        let counts = Self.rowStarts(of: indices, rows: cols)
        var cursor = counts
        var outIndices = [Int32](repeating: 0, count: indices.count)
        var outValues = [Float](repeating: 0, count: values.count)
        for r in 0..<rows {
            for k in rowRange(r) {
                let c = Int(indices[k])
                outIndices[cursor[c]] = Int32(r)
                outValues[cursor[c]] = values[k]
                cursor[c] += 1
            }
        }
        return CSRMatrix(rows: cols, cols: rows, indptr: counts, indices: outIndices, values: outValues)
    }
}
