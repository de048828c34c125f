import XCTest
@testable import UnfoldMath

/// The batched scan against the single-query scan: the same items, scores (bit for bit)
/// and order, and the same rows rescanned.
final class BatchedScanTests: XCTestCase {
    /// A table whose entries are small integers (scores tie often) or Gaussians.
    func table(rows: Int, cols: Int, ties: Bool, rng: inout SplitMix64) -> [Float] {
        (0..<(rows * cols)).map { _ in ties ? Float(Int(rng.next() % 5)) - 2 : rng.nextGaussian() }
    }

    func assertBatchMatchesSingles(rows n: Int, cols d: Int, precision: BlockedTable.Precision, ties: Bool, bias useBias: Bool,
                                   batch b: Int, parts: Int?, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        var rng = SplitMix64(seed: seed)
        let t = table(rows: n, cols: d, ties: ties, rng: &rng)
        let bias = (0..<n).map { _ in ties ? Float(Int(rng.next() % 3)) : rng.nextGaussian() }
        let queries = (0..<b).map { _ in (0..<d).map { _ in ties ? Float(Int(rng.next() % 3)) - 1 : rng.nextGaussian() } }
        let ks = (0..<b).map { i in [1, 10, 3, n + 5, 0, 50][i % 6] }
        let excludedSets = (0..<b).map { i in Set((0..<(i % 4 == 0 ? 0 : n / 3)).map { _ in Int(rng.next() % UInt64(max(n, 1))) }) }
        t.withUnsafeBufferPointer { tp in
            bias.withUnsafeBufferPointer { bp in
                let blocked = BlockedTable(tp.baseAddress!, rows: n, cols: d, precision: precision)
                XCTAssertEqual(blocked.precision, precision, file: file, line: line)
                let flat = queries.flatMap { $0 }
                flat.withUnsafeBufferPointer { qp in
                    let batch = (0..<b).map { i in
                        BlockedTable.Query(vector: qp.baseAddress! + i * d, k: ks[i]) { excludedSets[i].contains($0) }
                    }
                    let results = blocked.topK(batch, table: tp.baseAddress!, bias: useBias ? bp.baseAddress : nil, parts: parts)
                    XCTAssertEqual(results.count, b, file: file, line: line)
                    for i in 0..<b {
                        var rescored = 0
                        let single = blocked.topK(qp.baseAddress! + i * d, table: tp.baseAddress!, bias: useBias ? bp.baseAddress : nil, k: ks[i],
                                                  rescored: &rescored) { excludedSets[i].contains($0) }
                        let label = "n \(n) d \(d) \(precision) ties \(ties) bias \(useBias) b \(b) parts \(parts ?? 0) query \(i) k \(ks[i])"
                        XCTAssertEqual(results[i].items.map(\.index), single.map(\.index), label, file: file, line: line)
                        XCTAssertEqual(results[i].items.map(\.score.bitPattern), single.map(\.score.bitPattern), label, file: file, line: line)
                        XCTAssertEqual(results[i].rescored, rescored, label, file: file, line: line)
                        XCTAssertTrue(results[i].items.allSatisfy { !excludedSets[i].contains($0.index) }, label, file: file, line: line)
                        XCTAssertEqual(results[i].items.count, min(ks[i], n - Set(excludedSets[i]).count), label, file: file, line: line)
                    }
                }
            }
        }
    }

    func testBatchedScanEqualsSingleScansBitForBit() {
        var seed: UInt64 = 1
        for precision in [BlockedTable.Precision.float32, .bfloat16] {
            for (n, d) in [(1, 1), (15, 3), (17, 7), (100, 8), (333, 5), (1000, 16), (2049, 64), (600, 11)] {
                for ties in [false, true] {
                    for b in [1, 2, 3, 4, 5, 8, 13, 16] {
                        seed += 1
                        assertBatchMatchesSingles(rows: n, cols: d, precision: precision, ties: ties, bias: seed % 2 == 0, batch: b,
                                                  parts: [nil, 1, 2, 3][Int(seed % 4)], seed: seed)
                    }
                }
            }
        }
    }

    /// A table large enough to split over the cores by itself.
    func testBatchedScanOfALargeTableSplitsAndStillMatches() {
        for precision in [BlockedTable.Precision.float32, .bfloat16] {
            assertBatchMatchesSingles(rows: 70_001, cols: 8, precision: precision, ties: true, bias: false, batch: 6, parts: nil, seed: 99)
        }
    }

    func testAnEmptyBatchAndAnEmptyTable() {
        let t: [Float] = [1, 2]
        t.withUnsafeBufferPointer { tp in
            let blocked = BlockedTable(tp.baseAddress!, rows: 1, cols: 2)
            XCTAssertTrue(blocked.topK([], table: tp.baseAddress!).isEmpty)
            let empty = BlockedTable(tp.baseAddress!, rows: 0, cols: 2)
            let result = empty.topK([BlockedTable.Query(vector: tp.baseAddress!, k: 3)], table: tp.baseAddress!)
            XCTAssertEqual(result.count, 1)
            XCTAssertTrue(result[0].items.isEmpty)
        }
    }

    /// Ties go to the lower index, whatever order the heap saw them in.
    func testTopKBreaksTiesByLowerIndex() {
        let scores: [Float] = [1, 5, 5, 2, 5, 5, 9, 5, .nan, 5]
        let top = scores.withUnsafeBufferPointer { topK($0, k: 4) }
        XCTAssertEqual(top.map(\.index), [6, 1, 2, 4])
        let allEqual = [Float](repeating: 3, count: 100)
        XCTAssertEqual(allEqual.withUnsafeBufferPointer { topK($0, k: 5) }.map(\.index), [0, 1, 2, 3, 4])
        XCTAssertEqual(allEqual.withUnsafeBufferPointer { topK($0, k: 3) { $0 % 2 == 0 } }.map(\.index), [1, 3, 5])
    }
}
