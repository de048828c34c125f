import Dispatch
import Foundation
import XCTest
import UnfoldMath
@testable import UnfoldServing

/// The batcher under many concurrent callers: each gets its own query's answer, the single
/// scan's bit for bit.
final class ScanBatcherTests: XCTestCase {
    func testConcurrentCallersEachGetTheirOwnAnswer() {
        for precision in [BlockedTable.Precision.float32, .bfloat16] {
            var rng = SplitMix64(seed: 5)
            let n = 3000, d = 16
            let rows = (0..<(n * d)).map { _ in rng.nextGaussian() }
            let callers = 200
            let queries = (0..<callers).map { _ in (0..<d).map { _ in rng.nextGaussian() } }
            rows.withUnsafeBufferPointer { rp in
                let table = BlockedTable(rp.baseAddress!, rows: n, cols: d, precision: precision)
                let batcher = ScanBatcher(table: table, rows: rp.baseAddress!, bias: nil, limit: 16)
                let results = Results(count: callers)
                // More threads than cores, so callers arrive while a pass runs.
                let group = DispatchGroup()
                let threads = 32
                for thread in 0..<threads {
                    group.enter()
                    Thread.detachNewThread {
                        for i in stride(from: thread, to: callers, by: threads) {
                            var rescored = 0
                            let excluded = Set([i, i + 1, i * 7 % n])
                            let answer = batcher.topK(queries[i], k: 1 + i % 20, rescored: &rescored) { excluded.contains($0) }
                            results.set(i, answer, rescored: rescored)
                        }
                        group.leave()
                    }
                }
                XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
                let (answers, rescoredCounts) = results.get()
                for i in 0..<callers {
                    var rescored = 0
                    let excluded = Set([i, i + 1, i * 7 % n])
                    let single = queries[i].withUnsafeBufferPointer {
                        table.topK($0.baseAddress!, table: rp.baseAddress!, k: 1 + i % 20, rescored: &rescored) { excluded.contains($0) }
                    }
                    XCTAssertEqual(answers[i].map(\.index), single.map(\.index), "\(precision) caller \(i)")
                    XCTAssertEqual(answers[i].map(\.score.bitPattern), single.map(\.score.bitPattern), "\(precision) caller \(i)")
                    XCTAssertEqual(rescoredCounts[i], rescored, "\(precision) caller \(i)")
                }
                XCTAssertGreaterThan(batcher.passes, 0)
                XCTAssertLessThanOrEqual(batcher.passes, callers)
            }
        }
    }

    /// A lone caller leads its own pass at once.
    func testALoneCallerRunsAtOnce() {
        let rows: [Float] = [1, 0, 0, 1, 1, 1]
        rows.withUnsafeBufferPointer { rp in
            let batcher = ScanBatcher(table: BlockedTable(rp.baseAddress!, rows: 3, cols: 2), rows: rp.baseAddress!, bias: nil)
            var rescored = 0
            let top = batcher.topK([1, 2], k: 2, rescored: &rescored) { _ in false }
            XCTAssertEqual(top.map(\.index), [2, 1])
            XCTAssertEqual(top.map(\.score), [3, 2])
            XCTAssertEqual(batcher.passes, 1)
        }
    }
}

/// The callers' answers, written from their threads.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [[(index: Int, score: Float)]]
    private var rescored: [Int]

    init(count: Int) {
        answers = Array(repeating: [], count: count)
        rescored = Array(repeating: -1, count: count)
    }

    func set(_ i: Int, _ answer: [(index: Int, score: Float)], rescored count: Int) {
        lock.withLock {
            answers[i] = answer
            rescored[i] = count
        }
    }

    func get() -> ([[(index: Int, score: Float)]], [Int]) { lock.withLock { (answers, rescored) } }
}
