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

    /// Liang et al.'s metrics by hand: one user folds in item 0 of a one-dimensional table
    /// whose scores fall with the index, so the list is items 1, 2, 3, …; the held-out items
    /// 5, 30, 60 and 110 sit at positions 4, 29, 59 and 109. A user with nothing to fold in
    /// and one with nothing held out are not counted.
    func testStrongGeneralizationMetricsByHand() {
        let n = 120
        let model = servedModel(matrix((0..<n).map { [Float(n - $0)] }))
        let foldIn = CSRMatrix(rows: 3, cols: n, rowIndex: [0, 2], colIndex: [0, 7], values: [1, 1])
        let held = CSRMatrix(rows: 3, cols: n, rowIndex: [0, 0, 0, 0, 1], colIndex: [5, 30, 60, 110, 3], values: [1, 1, 1, 1, 1])
        let users = StrongGeneralization.perUser(model, foldIn: foldIn, heldOut: held, threads: 2)
        XCTAssertEqual(users.map(\.user), [0])
        let m = users[0]
        XCTAssertEqual(m.recall20, 1.0 / 4.0, accuracy: 1e-12)
        XCTAssertEqual(m.recall50, 2.0 / 4.0, accuracy: 1e-12)
        let dcg = 1 / log2(6.0) + 1 / log2(31.0) + 1 / log2(61.0)
        let ideal = (0..<4).reduce(0.0) { $0 + 1 / log2(Double($1 + 2)) }
        XCTAssertEqual(m.ndcg100, dcg / ideal, accuracy: 1e-12)
        // Recall is over min(k, held out): 25 held-out items all in the top 20 would be 1.
        let many = CSRMatrix(rows: 1, cols: n, rowIndex: [Int32](repeating: 0, count: 25), colIndex: (1...25).map(Int32.init), values: [Float](repeating: 1, count: 25))
        let full = StrongGeneralization.perUser(model, foldIn: CSRMatrix(rows: 1, cols: n, rowIndex: [0], colIndex: [0], values: [1]), heldOut: many, threads: 1)
        XCTAssertEqual(full[0].recall20, 1)
        XCTAssertEqual(full[0].recall50, 1)
        XCTAssertEqual(full[0].ndcg100, 1, accuracy: 1e-12)
        XCTAssertEqual(StrongGeneralization.means(users)["users"], 1)
        // A held-out item the user also folds in (a repeat split both ways) cannot be listed:
        // it is not relevant, and a user left with nothing else is not counted.
        let repeatIn = CSRMatrix(rows: 2, cols: n, rowIndex: [0, 1], colIndex: [0, 0], values: [1, 1])
        let repeatOut = CSRMatrix(rows: 2, cols: n, rowIndex: [0, 0, 1], colIndex: [0, 5, 0], values: [1, 1, 1])
        let repeated = StrongGeneralization.perUser(model, foldIn: repeatIn, heldOut: repeatOut, threads: 1)
        XCTAssertEqual(repeated.map(\.user), [0])
        XCTAssertEqual(repeated[0].recall20, 1, "item 5, at position 4, is the only relevant one")
    }
}
