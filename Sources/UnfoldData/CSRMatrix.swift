import Dispatch
import Foundation

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
    ///
    /// The records are grouped by row (a counting sort that keeps the input order), then
    /// each row is ordered by time, sorted by column and merged in its own stretch of the
    /// grouped arrays — rows in parallel on `threads` threads — and the merged stretches are
    /// packed together. The result does not depend on the thread count.
    public init(rows: Int, cols: Int, rowIndex: [Int32], colIndex: [Int32], values: [Float], order: Bool = false, timestamps: [Double]? = nil,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(rowIndex.count == colIndex.count && colIndex.count == values.count)
        let n = rowIndex.count
        guard n > 0 else {
            self.init(rows: rows, cols: cols, indptr: [Int](repeating: 0, count: rows + 1), indices: [], values: [])
            if order { self.latest = [] }
            return
        }
        let counts = Self.rowStarts(of: rowIndex, rows: rows)
        let workers = max(1, min(threads, n / 100_000 + 1))
        // Records already in time order overall (a log, most exports) stay in time order
        // within each row once grouped: their times need not be carried along.
        let sortedTimes = timestamps.map { t in zip(t, t.dropFirst()).allSatisfy { $0 <= $1 } } ?? true
        let carryTimes = timestamps != nil && !sortedTimes
        var cols0 = [Int32](repeating: 0, count: n)
        var vals0 = [Float](repeating: 0, count: n)
        var time0 = [Double](repeating: 0, count: carryTimes ? n : 0)
        // Grouped by row, keeping the input order: each worker scans every record and places
        // those of its own rows, so the scattered writes are split between the cores.
        cols0.withUnsafeMutableBufferPointer { colsBuffer in
            vals0.withUnsafeMutableBufferPointer { valsBuffer in
                time0.withUnsafeMutableBufferPointer { timeBuffer in
                    rowIndex.withUnsafeBufferPointer { rowBuffer in
                        colIndex.withUnsafeBufferPointer { colBuffer in
                            values.withUnsafeBufferPointer { valueBuffer in
                                nonisolated(unsafe) let c = colsBuffer.baseAddress, v = valsBuffer.baseAddress, t = timeBuffer.baseAddress
                                nonisolated(unsafe) let rowsIn = rowBuffer.baseAddress, colsIn = colBuffer.baseAddress, valuesIn = valueBuffer.baseAddress
                                DispatchQueue.concurrentPerform(iterations: workers) { w in
                                    let low = Int32(w * rows / workers), high = Int32((w + 1) * rows / workers)
                                    var cursor = Array(counts[Int(low)..<Int(high)])
                                    for k in 0..<n {
                                        let r = rowsIn![k]
                                        guard r >= low && r < high else { continue }
                                        let at = cursor[Int(r - low)]
                                        c![at] = colsIn![k]
                                        v![at] = valuesIn![k]
                                        if carryTimes { t![at] = timestamps![k] }
                                        cursor[Int(r - low)] = at + 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var event0 = [Int32](repeating: 0, count: order ? n : 0)
        var mergedCount = [Int](repeating: 0, count: rows)
        cols0.withUnsafeMutableBufferPointer { colsBuffer in
            vals0.withUnsafeMutableBufferPointer { valsBuffer in
                event0.withUnsafeMutableBufferPointer { eventBuffer in
                    time0.withUnsafeBufferPointer { timeBuffer in
                        mergedCount.withUnsafeMutableBufferPointer { mergedBuffer in
                            // An empty array may still hand out a pointer: the absent ones are nil here.
                            nonisolated(unsafe) let c = colsBuffer.baseAddress!, v = valsBuffer.baseAddress!
                            nonisolated(unsafe) let e = order ? eventBuffer.baseAddress : nil, t = carryTimes ? timeBuffer.baseAddress : nil
                            nonisolated(unsafe) let out = mergedBuffer.baseAddress!
                            let timed = carryTimes
                            DispatchQueue.concurrentPerform(iterations: workers) { w in
                                var keys: [UInt64] = [], scratch: [(Int32, Float, Int32)] = []
                                for r in (w * rows / workers)..<((w + 1) * rows / workers) {
                                    out[r] = Self.mergeRow(c, v, e, t, counts[r], counts[r + 1], timed: timed, keys: &keys, scratch: &scratch)
                                }
                            }
                        }
                    }
                }
            }
        }
        // Pack the merged stretches (rows in parallel: each writes its own range).
        var indptr = [Int](repeating: 0, count: rows + 1)
        for r in 0..<rows { indptr[r + 1] = indptr[r] + mergedCount[r] }
        let total = indptr[rows]
        var indices = [Int32](repeating: 0, count: total), merged = [Float](repeating: 0, count: total)
        var latest = [Int32](repeating: 0, count: order ? total : 0)
        indices.withUnsafeMutableBufferPointer { indicesOut in
            merged.withUnsafeMutableBufferPointer { mergedOut in
                latest.withUnsafeMutableBufferPointer { latestOut in
                    nonisolated(unsafe) let io = indicesOut.baseAddress, mo = mergedOut.baseAddress, lo = latestOut.baseAddress
                    let starts = counts, offsets = indptr, sizes = mergedCount, grouped = cols0, groupedValues = vals0, events = event0
                    DispatchQueue.concurrentPerform(iterations: workers) { w in
                        for r in (w * rows / workers)..<((w + 1) * rows / workers) where sizes[r] > 0 {
                            let from = starts[r], to = offsets[r]
                            for j in 0..<sizes[r] {
                                io![to + j] = grouped[from + j]
                                mo![to + j] = groupedValues[from + j]
                                if order { lo![to + j] = events[from + j] }
                            }
                        }
                    }
                }
            }
        }
        self.init(rows: rows, cols: cols, indptr: indptr, indices: indices, values: merged)
        if order { self.latest = latest }
    }

    /// Orders one row's stretch [start, end) of the grouped arrays: events numbered in time
    /// order (when `events` is kept), entries sorted by column, duplicates summed (keeping the
    /// latest event) into the front of the stretch. Returns how many entries remain.
    static func mergeRow(_ cols: UnsafeMutablePointer<Int32>, _ values: UnsafeMutablePointer<Float>, _ events: UnsafeMutablePointer<Int32>?, _ times: UnsafePointer<Double>?,
                         _ start: Int, _ end: Int, timed: Bool, keys: inout [UInt64], scratch: inout [(Int32, Float, Int32)]) -> Int {
        let count = end - start
        guard count > 0 else { return 0 }
        if let events {
            // Each record's position in its row's time order (grouping kept the input order,
            // so records already in time order need no sort).
            var sorted = true
            if timed, let times { for k in (start + 1)..<max(start + 1, end) where times[k] < times[k - 1] { sorted = false; break } }
            if sorted {
                for k in 0..<count { events[start + k] = Int32(k) }
            } else {
                let byTime = (start..<end).sorted { times![$0] < times![$1] || (times![$0] == times![$1] && $0 < $1) }
                for (position, k) in byTime.enumerated() { events[k] = Int32(position) }
            }
        }
        // Sort by (column, position): a packed key, so the sort compares integers.
        keys.removeAll(keepingCapacity: true)
        for k in 0..<count { keys.append(UInt64(UInt32(bitPattern: cols[start + k])) << 32 | UInt64(k)) }
        keys.sort()
        scratch.removeAll(keepingCapacity: true)
        for key in keys {
            let k = start + Int(key & 0xFFFF_FFFF)
            let event = events?[k] ?? 0
            if let last = scratch.last, last.0 == cols[k] {
                scratch[scratch.count - 1] = (last.0, last.1 + values[k], max(last.2, event))
            } else {
                scratch.append((cols[k], values[k], event))
            }
        }
        for (j, entry) in scratch.enumerated() {
            cols[start + j] = entry.0
            values[start + j] = entry.1
            events?[start + j] = entry.2
        }
        return scratch.count
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
