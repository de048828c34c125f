import Dispatch
import Foundation
import UnfoldMath

/// Serves concurrent exact scans of one table with shared passes (flat combining): the
/// first caller to arrive leads, takes every query waiting (up to `limit`) and runs one
/// batched scan (`BlockedTable.topK(_:table:bias:)`) for all of them; callers arriving
/// meanwhile wait, and when the pass ends the first of them leads the next one. A lone query
/// so runs at once, as one scan; under load each pass over the table serves many queries.
/// The answers are the single scan's, bit for bit.
///
/// A waiting caller blocks its thread (a worker slot) without using a core; the server
/// needs more slots than cores for queries to meet (`worker_threads`).
public final class ScanBatcher: @unchecked Sendable {
    /// Queries per pass at most: past this, a larger batch only lengthens the pass.
    public static let defaultLimit = 32

    let table: BlockedTable
    /// The Float32 rows the table was built from, and the item bias; owned by the model.
    private let rows: UnsafePointer<Float>
    private let bias: UnsafePointer<Float>?
    public let limit: Int

    private let lock = NSLock()
    /// Callers waiting for a pass, first come first served.
    private var waiting: [Caller] = []
    private var waitingHead = 0
    /// A pass is running (or being handed to its next leader).
    private var leading = false
    private var passCount = 0
    private var queryCount = 0

    /// Passes run so far, and the queries they served.
    public var passes: Int { lock.withLock { passCount } }
    public var queriesServed: Int { lock.withLock { queryCount } }

    /// One caller's query, and its answer once a pass has run it.
    private final class Caller {
        enum Role { case waiting, answered, leads }
        let query: [Float]
        let k: Int
        let excluded: (Int) -> Bool
        var items: [(index: Int, score: Float)] = []
        var rescored = 0
        var role = Role.waiting
        let wakeup = DispatchSemaphore(value: 0)

        init(query: [Float], k: Int, excluded: @escaping (Int) -> Bool) {
            self.query = query
            self.k = k
            self.excluded = excluded
        }
    }

    public init(table: BlockedTable, rows: UnsafePointer<Float>, bias: UnsafePointer<Float>?, limit: Int = ScanBatcher.defaultLimit) {
        self.table = table
        self.rows = rows
        self.bias = bias
        self.limit = max(1, limit)
    }

    /// The exact top k of the table for q (`BlockedTable.topK`'s answer), `rescored` the rows
    /// its exact rescan scored.
    public func topK(_ q: [Float], k: Int, rescored: inout Int, excluded: @escaping (Int) -> Bool) -> [(index: Int, score: Float)] {
        let caller = Caller(query: q, k: k, excluded: excluded)
        lock.lock()
        if leading {
            waiting.append(caller)
            lock.unlock()
            caller.wakeup.wait()
        } else {
            leading = true
            lock.unlock()
            caller.role = .leads
        }
        if caller.role == .leads { lead(caller) }
        rescored = caller.rescored
        return caller.items
    }

    /// Runs one pass for `first` and the callers waiting, answers them, and hands the lead to
    /// the next caller waiting (or gives it up).
    private func lead(_ first: Caller) {
        var batch = [first]
        lock.lock()
        let taken = min(limit - 1, waiting.count - waitingHead)
        batch += waiting[waitingHead..<(waitingHead + taken)]
        waitingHead += taken
        compact()
        passCount += 1
        queryCount += batch.count
        lock.unlock()

        // The batch's query vectors side by side, for the pass to point into.
        let d = table.cols
        var vectors = [Float](repeating: 0, count: batch.count * d)
        for (t, caller) in batch.enumerated() { for j in 0..<d { vectors[t * d + j] = caller.query[j] } }
        let results = vectors.withUnsafeBufferPointer { v in
            table.topK(batch.enumerated().map { BlockedTable.Query(vector: v.baseAddress! + $0.offset * d, k: $0.element.k, excluded: $0.element.excluded) },
                       table: rows, bias: bias)
        }
        for (caller, result) in zip(batch, results) {
            caller.items = result.items
            caller.rescored = result.rescored
        }

        lock.lock()
        var next: Caller?
        if waitingHead < waiting.count {
            next = waiting[waitingHead]
            waitingHead += 1
            compact()
        } else {
            leading = false
        }
        lock.unlock()
        if let next {
            next.role = .leads
            next.wakeup.signal()
        }
        for caller in batch.dropFirst() {
            caller.role = .answered
            caller.wakeup.signal()
        }
    }

    /// Drops the taken prefix of `waiting` once it is the larger part (the lock is held).
    private func compact() {
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        } else if waitingHead > 64 && waitingHead * 2 > waiting.count {
            waiting.removeFirst(waitingHead)
            waitingHead = 0
        }
    }
}
