import XCTest
import UnfoldData
import UnfoldMath
@testable import UnfoldTraining

final class EvaluationTests: XCTestCase {
    /// One user, 5 items; train holds item 0; test holds items 1 and 3.
    /// Scores rank items 4 > 3 > 0 (filtered) > 2 > 1.
    func testHandComputedMetrics() {
        let train = CSRMatrix(rows: 1, cols: 5, rowIndex: [0], colIndex: [0], values: [1])
        let test = CSRMatrix(rows: 1, cols: 5, rowIndex: [0, 0], colIndex: [1, 3], values: [1, 1])
        // A one-dimensional table and a user vector of 1: the scores are the items' values.
        let model = servedModel(matrix([[10], [1], [2], [5], [9]]))
        let m = Evaluation.rank(model, train: train, test: test, k: 3, lists: .vectors(matrix([[1]])), threads: 1)
        // Top 3 after filtering item 0: [4, 3, 2]; one hit (item 3) at rank 2 (j = 1).
        XCTAssertEqual(m.users, 1)
        XCTAssertEqual(m.precision, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.recall, 0.5, accuracy: 1e-12)
        let dcg = 1 / log2(3.0), idcg = 1 / log2(2.0) + 1 / log2(3.0)
        XCTAssertEqual(m.ndcg, dcg / idcg, accuracy: 1e-12)
        XCTAssertEqual(m.map, (1.0 / 2.0) / 2.0, accuracy: 1e-12)
        XCTAssertEqual(m.coverage, 3.0 / 5.0, accuracy: 1e-12)
    }

    func testPerfectRankingScoresOne() {
        let train = CSRMatrix(rows: 2, cols: 4, rowIndex: [0, 1], colIndex: [0, 1], values: [1, 1])
        let test = CSRMatrix(rows: 2, cols: 4, rowIndex: [0, 1], colIndex: [2, 3], values: [1, 1])
        let identity = servedModel(matrix((0..<4).map { i in (0..<4).map { $0 == i ? 1 : 0 } }))
        let m = Evaluation.rank(identity, train: train, test: test, k: 1, lists: .vectors(matrix([[0, 0, 1, 0], [0, 0, 0, 1]])), threads: 2)
        XCTAssertEqual(m.ndcg, 1)
        XCTAssertEqual(m.precision, 1)
        XCTAssertEqual(m.map, 1)
        XCTAssertEqual(m.users, 2)
    }

    func testAlignDropsUnknownUsersAndItems() {
        var train = Interactions()
        train.append(user: "a", item: "x", weight: 1, timestamp: nil)
        train.append(user: "b", item: "y", weight: 1, timestamp: nil)
        var test = Interactions()
        test.append(user: "b", item: "x", weight: 1, timestamp: nil)
        test.append(user: "c", item: "x", weight: 1, timestamp: nil)
        test.append(user: "a", item: "z", weight: 1, timestamp: nil)
        let aligned = Evaluation.align(test: test, to: train)
        XCTAssertEqual(aligned.nonZeroCount, 1)
        XCTAssertEqual(aligned.indices, [0])
        XCTAssertEqual(aligned.rowCount(1), 1)
    }
}

final class BootstrapTests: XCTestCase {
    func testIntervalsHoldTheMeanAndNarrowWithMoreUsers() {
        var rng = SplitMix64(seed: 3)
        let small = (0..<100).map { _ in rng.nextDouble() }, large = (0..<10_000).map { _ in rng.nextDouble() }
        let a = Bootstrap.interval(small), b = Bootstrap.interval(large)
        XCTAssertTrue(a.low < 0.5 && 0.5 < a.high, "\(a)")
        XCTAssertTrue(b.low < 0.5 && 0.5 < b.high, "\(b)")
        XCTAssertLessThan(b.high - b.low, (a.high - a.low) / 5, "100x the users, a tenth of the width")
        // A paired difference of a constant shift is that shift, exactly, whatever the users.
        let shifted = Bootstrap.pairedDifference(small.map { $0 + 0.25 }, small)
        XCTAssertEqual(shifted.difference, 0.25, accuracy: 1e-12)
        XCTAssertEqual(shifted.low, 0.25, accuracy: 1e-12)
        XCTAssertEqual(shifted.high, 0.25, accuracy: 1e-12)
    }
}
