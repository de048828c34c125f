/// A sparse matrix in compressed sparse row form: the entries of row r are
/// `indices[indptr[r]..<indptr[r+1]]` (sorted, unique) with `values` alongside.
public struct CSRMatrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var indptr: [Int]
    public var indices: [Int32]
    public var values: [Float]
    /// Per entry, when its row last touched it: the position of the latest merged record
    /// among its row's records in time order (by timestamp, then input order). Kept by
    /// matrices built with `order: true`, for encoders that weigh recent items more.
    public var latest: [Int32]?

    public var nonZeroCount: Int { indices.count }

    public init(rows: Int, cols: Int, indptr: [Int], indices: [Int32], values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.indptr = indptr
        self.indices = indices
        self.values = values
    }

    /// Builds from coordinates; duplicate (row, col) entries are summed. With `order`, each
    /// entry also keeps when its row last touched it (`latest`), the records' time order
    /// taken from `timestamps` when given, else from the input order.
    public init(rows: Int, cols: Int, rowIndex: [Int32], colIndex: [Int32], values: [Float], order: Bool = false, timestamps: [Double]? = nil) {
        precondition(rowIndex.count == colIndex.count && colIndex.count == values.count)
        let counts = Self.rowStarts(of: rowIndex, rows: rows)
        var cursor = counts
        var cols0 = [Int32](repeating: 0, count: rowIndex.count)
        var vals0 = [Float](repeating: 0, count: rowIndex.count)
        var time0 = [Double](repeating: 0, count: timestamps == nil ? 0 : rowIndex.count)
        for k in 0..<rowIndex.count {
            let r = Int(rowIndex[k])
            cols0[cursor[r]] = colIndex[k]
            vals0[cursor[r]] = values[k]
            if let timestamps { time0[cursor[r]] = timestamps[k] }
            cursor[r] += 1
        }
        // Each record's position in its row's time order (grouping kept the input order).
        var event0: [Int32] = []
        if order {
            event0 = [Int32](repeating: 0, count: rowIndex.count)
            var byTime: [Int] = []
            for r in 0..<rows {
                let start = counts[r], end = counts[r + 1]
                byTime = Array(start..<end)
                if timestamps != nil { byTime.sort { time0[$0] < time0[$1] || (time0[$0] == time0[$1] && $0 < $1) } }
                for (position, k) in byTime.enumerated() { event0[k] = Int32(position) }
            }
        }
        // Sort each row by column and merge duplicates.
        var indptr = [Int](repeating: 0, count: rows + 1)
        var indices: [Int32] = []
        var merged: [Float] = []
        var latest: [Int32] = []
        indices.reserveCapacity(cols0.count)
        merged.reserveCapacity(cols0.count)
        if order { latest.reserveCapacity(cols0.count) }
        var byColumn: [Int] = []
        for r in 0..<rows {
            let start = counts[r], end = counts[r + 1]
            byColumn = Array(start..<end)
            byColumn.sort { cols0[$0] < cols0[$1] }
            for k in byColumn {
                if let last = indices.last, indices.count > indptr[r], last == cols0[k] {
                    merged[merged.count - 1] += vals0[k]
                    if order { latest[latest.count - 1] = max(latest[latest.count - 1], event0[k]) }
                } else {
                    indices.append(cols0[k])
                    merged.append(vals0[k])
                    if order { latest.append(event0[k]) }
                }
            }
            indptr[r + 1] = indices.count
        }
        self.init(rows: rows, cols: cols, indptr: indptr, indices: indices, values: merged)
        if order { self.latest = latest }
    }

    /// The latest-event numbers of row r's entries (nil without `latest`).
    @inlinable public func rowLatest(_ r: Int) -> [Int32]? { latest.map { Array($0[rowRange(r)]) } }

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
