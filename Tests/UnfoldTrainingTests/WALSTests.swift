import XCTest
import UnfoldData
import UnfoldMath
@testable import UnfoldModels
@testable import UnfoldTraining

final class WALSTests: XCTestCase {
    /// Block-diagonal implicit data: group g's users interact with most of group g's items.
    func plantedMatrix(users: Int = 120, items: Int = 60, groups: Int = 3, density: Double = 0.6, seed: UInt64 = 3) -> (CSRMatrix, [Int], [Int]) {
        var rng = SplitMix64(seed: seed)
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = []
        for u in 0..<users {
            for i in 0..<items where u % groups == i % groups && rng.nextDouble() < density {
                rows.append(Int32(u))
                cols.append(Int32(i))
                values.append(1)
            }
        }
        return (CSRMatrix(rows: users, cols: items, rowIndex: rows, colIndex: cols, values: values),
                (0..<users).map { $0 % groups }, (0..<items).map { $0 % groups })
    }

    func parameters(_ solver: WALSParameters.Solver = .cholesky) -> WALSParameters {
        var p = WALSParameters()
        p.factors = 8
        p.iterations = 10
        p.regularization = 0.1
        p.regularizationMode = .constant
        p.alpha = 5
        p.unobservedWeight = 1
        p.solver = solver
        return p
    }

    func testStableRankOfBothTablesIsReportedEveryIteration() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.iterations = 4
        var ranks: [(Double, Double)] = []
        let result = WALS.train(matrix, p, threads: 2, onIteration: { ranks.append(($0.stableRankUsers!, $0.stableRankItems)) })
        XCTAssertEqual(ranks.count, 4)
        XCTAssertTrue(ranks.allSatisfy { $0.0 >= 1 && $0.0 <= Double(p.factors) && $0.1 >= 1 && $0.1 <= Double(p.factors) })
        XCTAssertEqual(ranks.last!.1, Double(stableRank(result.itemFactors)), accuracy: 1e-4)
    }

    func testLossDecreasesEveryIteration() {
        let (matrix, _, _) = plantedMatrix()
        for solver in WALSParameters.Solver.allCases {
            let losses = WALS.train(matrix, parameters(solver), threads: 2).epochs.map(\.loss)
            XCTAssertEqual(losses.count, 10)
            for (a, b) in zip(losses, losses.dropFirst()) {
                XCTAssertLessThanOrEqual(b, a * (1 + 1e-5), "\(solver): \(losses)")
            }
        }
    }

    func testRecoversPlantedStructure() {
        let (matrix, userGroups, itemGroups) = plantedMatrix()
        let result = WALS.train(matrix, parameters(), threads: 2)
        let d = 8
        var inGroup = 0, total = 0
        for u in 0..<matrix.rows {
            var scores = [Float](repeating: 0, count: matrix.cols)
            for i in 0..<matrix.cols {
                scores[i] = result.userFactors.storage.withUnsafeBufferPointer { up in
                    result.itemFactors.storage.withUnsafeBufferPointer { vp in dot(up.baseAddress! + u * d, vp.baseAddress! + i * d, d) }
                }
            }
            let seen = Set(matrix.indices[matrix.rowRange(u)].map(Int.init))
            for hit in scores.withUnsafeBufferPointer({ topK($0, k: 5) { seen.contains($0) } }) {
                total += 1
                if itemGroups[hit.index] == userGroups[u] { inGroup += 1 }
            }
        }
        XCTAssertGreaterThan(Double(inGroup) / Double(total), 0.95)
        // The reconstruction separates observed cells from cross-group cells.
        let observed = (0..<matrix.rows).flatMap { u in matrix.indices[matrix.rowRange(u)].map { (u, Int($0)) } }
        let mean = observed.map { u, i in (0..<d).reduce(Float(0)) { $0 + result.userFactors[u, $1] * result.itemFactors[i, $1] } }.reduce(0, +) / Float(observed.count)
        XCTAssertGreaterThan(mean, 0.5)
    }

    func testFoldInOfATrainingUserReproducesTheTrainedVector() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.iterations = 6
        let result = WALS.train(matrix, p, threads: 2)
        // One more user half-step against the final items is exactly the fold-in.
        var users = result.userFactors
        WALS.halfStep(update: &users, fixed: result.itemFactors, ratings: matrix, p, threads: 2)
        let foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.regularization)
        for u in [0, 7, 55] {
            let range = matrix.rowRange(u)
            let q = foldIn.encode(items: result.itemFactors, bag: ItemBag(distinct: matrix.indices[range], weights: matrix.values[range]))!
            for j in 0..<8 { XCTAssertEqual(q[j], users[u, j], accuracy: 1e-4) }
        }
    }

    /// Spark's objective (ALS-WR): the fold-in solves (VᵀV + λ·n·I + Σ α|r| v vᵀ) q =
    /// Σ_(r>0) (1 + α r) v with n the items with r > 0, checked against a solve in Double;
    /// a cell with r = 0 adds nothing, and a dislike adds confidence but no target.
    func testALSWRFoldInSolvesSparksEquation() throws {
        let d = 6, n = 40
        let items = Matrix.random(rows: n, cols: d, scale: 0.5, seed: 11)
        let alpha: Float = 2, lambda: Float = 0.3
        let foldIn = FoldIn(items: items, alpha: alpha, unobservedWeight: 1, regularization: lambda, objective: .alsWR)
        let indices: [Int32] = [3, 8, 15, 21, 30], weights: [Float] = [1, 4, 0, -2, 2.5]
        var bag = ItemBag(distinct: indices, weights: weights)
        bag.ordered = false
        let q = try XCTUnwrap(foldIn.encode(items: items, bag: bag))
        var a = [Double](repeating: 0, count: d * d), b = [Double](repeating: 0, count: d)
        for i in 0..<n { for r in 0..<d { for c in 0..<d { a[r * d + c] += Double(items[i, r]) * Double(items[i, c]) } } }
        let positive = weights.filter { $0 > 0 }.count
        for r in 0..<d { a[r * d + r] += Double(lambda) * Double(positive) }
        for (i, w) in zip(indices, weights) {
            let v = (0..<d).map { Double(items[Int(i), $0]) }
            for r in 0..<d { for c in 0..<d { a[r * d + c] += Double(alpha) * Double(abs(w)) * v[r] * v[c] } }
            if w > 0 { for r in 0..<d { b[r] += (1 + Double(alpha) * Double(w)) * v[r] } }
        }
        let expected = solveDouble(a, b, d)
        let scale = expected.map(abs).max()!
        for j in 0..<d { XCTAssertEqual(Double(q[j]), expected[j], accuracy: 1e-5 * scale) }
        // The r = 0 cell is as good as absent.
        var without = ItemBag(distinct: [3, 8, 21, 30], weights: [1, 4, -2, 2.5])
        without.ordered = false
        let q2 = try XCTUnwrap(foldIn.encode(items: items, bag: without))
        for j in 0..<d { XCTAssertEqual(q2[j], q[j], accuracy: 1e-5 * Float(scale)) }
        // The WALS objective on the same numbers differs (λ fixed, r = 0 a positive).
        let wals = FoldIn(items: items, alpha: alpha, unobservedWeight: 1, regularization: lambda)
        let q3 = try XCTUnwrap(wals.encode(items: items, bag: bag))
        XCTAssertGreaterThan(zip(q3, q).map { abs($0 - $1) }.max()!, 1e-3)
    }

    /// WALS under ALS-WR (regularization_mode als-wr): each row regularized by λ·n_row, and the
    /// served fold-in of a training user's row is the user half-step (exact and CG rows agree
    /// on what they minimize; the loss falls).
    func testALSWRTrainingMatchesItsFoldIn() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.regularizationMode = .alsWR
        p.regularization = 0.05
        p.iterations = 5
        XCTAssertEqual(p.objective, .alsWR)
        let result = WALS.train(matrix, p, threads: 2)
        XCTAssertLessThan(result.epochs.last!.loss, result.epochs.first!.loss)
        var users = result.userFactors
        WALS.halfStep(update: &users, fixed: result.itemFactors, ratings: matrix, p, threads: 2)
        let foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: 1, regularization: p.regularization, objective: .alsWR)
        for u in [0, 7, 55] {
            let range = matrix.rowRange(u)
            let q = foldIn.encode(items: result.itemFactors, bag: ItemBag(distinct: matrix.indices[range], weights: matrix.values[range]))!
            for j in 0..<8 { XCTAssertEqual(q[j], users[u, j], accuracy: 1e-4) }
        }
        // Conjugate-gradient rows solve the same per-row system.
        var cg = p
        cg.solver = .cg
        cg.cgSteps = 8
        var viaCG = result.userFactors
        WALS.halfStep(update: &viaCG, fixed: result.itemFactors, ratings: matrix, cg, threads: 2)
        for u in [0, 7, 55] { for j in 0..<8 { XCTAssertEqual(viaCG[u, j], users[u, j], accuracy: 1e-3) } }
    }

    /// Item fold-in (a new item placed against the users who took it, with the users' Gram)
    /// is the WALS item half-step: for a training item it reproduces the next item step.
    func testItemFoldInIsTheItemHalfStep() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.iterations = 4
        let result = WALS.train(matrix, p, threads: 2)
        var items = result.itemFactors
        WALS.halfStep(update: &items, fixed: result.userFactors, ratings: matrix.transposed(), p, threads: 2)
        var foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.regularization)
        foldIn.userGram = gram(result.userFactors)
        let byItem = matrix.transposed()
        for i in [0, 13, 41] {
            let range = byItem.rowRange(i)
            var rows: [Float] = []
            for k in range { rows += (0..<8).map { result.userFactors[Int(byItem.indices[k]), $0] } }
            let v = rows.withUnsafeBufferPointer { foldIn.itemVector(users: $0.baseAddress!, count: range.count, weights: Array(byItem.values[range])) }
            XCTAssertNotNil(v)
            for j in 0..<8 { XCTAssertEqual(v![j], items[i, j], accuracy: 1e-4, "item \(i)") }
        }
    }

    /// A dislike (negative weight) is an observed cell with preference 0: it pushes that
    /// user's score of the item below what leaving the cell out gives, and fold-in of the
    /// user's row (dislike included) is still the WALS user step.
    func testDislikesArePreferenceZeroInTrainingAndFoldIn() {
        let (liked, _, _) = plantedMatrix()
        // User 0 (group 0) dislikes two group-0 items it never interacted with.
        let row = Set(liked.indices[liked.rowRange(0)])
        let disliked = (0..<60).filter { $0 % 3 == 0 && !row.contains(Int32($0)) }.prefix(2).map(Int32.init)
        XCTAssertEqual(disliked.count, 2)
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = []
        for u in 0..<liked.rows {
            for k in liked.rowRange(u) { rows.append(Int32(u)); cols.append(liked.indices[k]); values.append(liked.values[k]) }
        }
        for i in disliked { rows.append(0); cols.append(i); values.append(-1) }
        let withDislikes = CSRMatrix(rows: liked.rows, cols: liked.cols, rowIndex: rows, colIndex: cols, values: values)
        var p = parameters()
        p.iterations = 6
        let plain = WALS.train(liked, p, threads: 2), trained = WALS.train(withDislikes, p, threads: 2)
        func score(_ r: WALS.Result, _ i: Int32) -> Float { (0..<8).reduce(0) { $0 + r.userFactors[0, $1] * r.itemFactors[Int(i), $1] } }
        for i in disliked {
            XCTAssertLessThan(score(trained, i), score(plain, i) - 0.05, "the disliked item \(i) scores lower than when unobserved")
        }
        var users = trained.userFactors
        WALS.halfStep(update: &users, fixed: trained.itemFactors, ratings: withDislikes, p, threads: 2)
        let foldIn = FoldIn(items: trained.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.regularization)
        let range = withDislikes.rowRange(0)
        let q = foldIn.encode(items: trained.itemFactors, bag: ItemBag(distinct: withDislikes.indices[range], weights: withDislikes.values[range]))!
        for j in 0..<8 { XCTAssertEqual(q[j], users[0, j], accuracy: 1e-4) }
        XCTAssertLessThan(WALS.loss(withDislikes, users: users, items: trained.itemFactors, p), Double.infinity)
    }

    /// The Woodbury path (few items, against the precomputed inverse Gram term; W computed or
    /// read from the table of solved items) and the direct Cholesky path solve the same system.
    func testWoodburyFoldInEqualsTheDirectSolve() {
        let d = 16
        let items = Matrix.random(rows: 50, cols: d, scale: 1, seed: 9)
        for (w0, alpha, boost) in [(Float(1), Float(2), Float(0)), (0.3, 0.5, 0), (1, 0, 0), (1, 2, 8), (3, 0.1, 32)] {
            var foldIn = FoldIn(items: items, alpha: alpha, unobservedWeight: w0, regularization: 0.5)
            foldIn.recencyBoost = boost
            foldIn.recencyHalfLife = 2
            XCTAssertEqual(foldIn.inverseGram.count, d * d)
            XCTAssertTrue(foldIn.solvesItems(rows: 50))
            let solved = items.storage.withUnsafeBufferPointer { foldIn.solvedItems($0.baseAddress!, rows: 50, threads: 2) }
            // Row i of the solved table is G⁻¹ v_i: G times it gives v_i back.
            for i in [0, 17, 49] {
                for r in 0..<d {
                    let back = (0..<d).reduce(Float(0)) { $0 + foldIn.gram[r * d + $1] * solved[i * d + $1] }
                    XCTAssertEqual(back, items[i, r], accuracy: 1e-4, "row \(i)")
                }
            }
            for count in [1, 3, 8, 12] {
                // Weights −1 (a dislike: preference 0), 0, 1, 2.
                let indices: [Int32] = (0..<count).map { k in Int32((k * 7) % 50) }
                let dislikeFirst: [Float] = (0..<count).map { k in Float(k % 4) - 1 }
                let bag = ItemBag(distinct: indices, weights: dislikeFirst)
                let weights = bag.weights
                let multipliers = foldIn.recencyMultipliers(bag)
                XCTAssertEqual(multipliers == nil, boost == 0)
                if let multipliers { XCTAssertEqual(multipliers.last, 1 + boost, "the newest item gets the whole boost") }
                var viaWoodbury = [Float](repeating: 0, count: d), direct = [Float](repeating: 0, count: d)
                var viaSolved = [Float](repeating: 0, count: d)
                var scratch = [Float](repeating: 0, count: foldIn.scratchCount)
                var used = false, usedSolved = false
                items.storage.withUnsafeBufferPointer { table in
                    scratch.withUnsafeMutableBufferPointer { s in
                        viaWoodbury.withUnsafeMutableBufferPointer { o in
                            used = foldIn.woodbury(items: table.baseAddress!, solved: nil, bag: bag, multipliers: multipliers, scratch: s.baseAddress!, out: o.baseAddress!)
                        }
                        solved.withUnsafeBufferPointer { sv in
                            viaSolved.withUnsafeMutableBufferPointer { o in
                                usedSolved = foldIn.woodbury(items: table.baseAddress!, solved: sv.baseAddress!, bag: bag, multipliers: multipliers, scratch: s.baseAddress!, out: o.baseAddress!)
                            }
                        }
                        direct.withUnsafeMutableBufferPointer { o in
                            XCTAssertTrue(bag.indices.withUnsafeBufferPointer { i in bag.weights.withUnsafeBufferPointer { w in foldIn.gram.withUnsafeBufferPointer { g in
                                FoldIn.withOptional(multipliers) { m in
                                    FoldIn.solveRow(gram: g.baseAddress!, table: table.baseAddress!, d: d, indices: i.baseAddress, weights: w.baseAddress, count: bag.count,
                                                    alpha: alpha, unobservedWeight: w0, multipliers: m, scratch: s.baseAddress!, out: o.baseAddress!)
                                }
                            } } })
                        }
                    }
                }
                let extras = (0..<count).filter { (1 + alpha * abs(weights[$0])) * (multipliers?[$0] ?? 1) - w0 != 0 }.count
                XCTAssertEqual(used, extras > 0 && extras <= d / 2, "w0 \(w0), alpha \(alpha), \(count) items")
                XCTAssertEqual(usedSolved, used)
                if used {
                    for j in 0..<d { XCTAssertEqual(viaWoodbury[j], direct[j], accuracy: 1e-4 * max(1, abs(direct[j])), "w0 \(w0), κ \(boost), \(count) items, coordinate \(j)") }
                    for j in 0..<d { XCTAssertEqual(viaSolved[j], direct[j], accuracy: 1e-4 * max(1, abs(direct[j])), "solved table: w0 \(w0), \(count) items, coordinate \(j)") }
                }
            }
        }
    }

    /// With λ scaled to each side's unobserved mass, the fold-in (with the users' λ) is still
    /// the WALS user step.
    func testScaledRegularizationFoldInIsTheUserStep() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.regularizationMode = .scaled
        p.regularization = 0.2
        p.unobservedWeight = 3
        p.iterations = 6
        let mass = p.observedMass(matrix.values)
        XCTAssertEqual(mass, Double(matrix.nonZeroCount) * Double(1 + p.alpha), accuracy: 1e-6, "unit weights: Σc = nnz·(1 + α)")
        XCTAssertEqual(p.lambda(rows: 60, observedMass: mass), Float(0.2 * mass / 60), accuracy: 1e-3)
        let result = WALS.train(matrix, p, threads: 2)
        var users = result.userFactors
        WALS.halfStep(update: &users, fixed: result.itemFactors, ratings: matrix, p, threads: 2)
        let foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.lambda(rows: matrix.rows, observedMass: mass))
        for u in [0, 7, 55] {
            let q = foldIn.encode(items: result.itemFactors, bag: ItemBag(row: u, of: matrix))!
            for j in 0..<8 { XCTAssertEqual(q[j], users[u, j], accuracy: 1e-4) }
        }
        // The loss charges each side its own λ: doubling λ raises it by the two penalties.
        var doubled = p
        doubled.regularization *= 2
        let l1 = WALS.loss(matrix, users: result.userFactors, items: result.itemFactors, p)
        let l2 = WALS.loss(matrix, users: result.userFactors, items: result.itemFactors, doubled)
        let penalty = Double(p.lambda(rows: matrix.rows, observedMass: mass)) * Double(result.userFactors.frobeniusNormSquared)
            + Double(p.lambda(rows: matrix.cols, observedMass: mass)) * Double(result.itemFactors.frobeniusNormSquared)
        XCTAssertEqual(l2 - l1, penalty, accuracy: 1e-3 * penalty)
    }

    /// Recency: the newest items of a query weigh more, so of two histories with the same
    /// items the one that ends with group A's items lands nearer group A; a bag's recency
    /// follows the latest touch of an item, and a matrix built from timestamped records
    /// keeps it.
    func testRecencyWeighsTheLatestItemsMore() {
        let (matrix, _, itemGroup) = plantedMatrix()
        var p = parameters()
        p.iterations = 6
        let result = WALS.train(matrix, p, threads: 2)
        var foldIn = FoldIn(items: result.itemFactors, alpha: p.alpha, unobservedWeight: p.unobservedWeight, regularization: p.regularization)
        let a = (0..<60).filter { itemGroup[$0] == 0 }.prefix(4).map(Int32.init), b = (0..<60).filter { itemGroup[$0] == 1 }.prefix(4).map(Int32.init)
        func groupScore(_ q: [Float], _ items: [Int32]) -> Float {
            items.reduce(0) { s, i in s + (0..<8).reduce(0) { $0 + q[$1] * result.itemFactors[Int(i), $1] } }
        }
        let endsWithA = ItemBag(distinct: b + a, weights: [Float](repeating: 1, count: 8)), endsWithB = ItemBag(distinct: a + b, weights: [Float](repeating: 1, count: 8))
        let plainA = foldIn.encode(items: result.itemFactors, bag: endsWithA)!, plainB = foldIn.encode(items: result.itemFactors, bag: endsWithB)!
        for j in 0..<8 { XCTAssertEqual(plainA[j], plainB[j], accuracy: 1e-5, "without recency the order does not matter") }
        foldIn.recencyBoost = 32
        foldIn.recencyHalfLife = 2
        let qa = foldIn.encode(items: result.itemFactors, bag: endsWithA)!, qb = foldIn.encode(items: result.itemFactors, bag: endsWithB)!
        XCTAssertGreaterThan(groupScore(qa, a) - groupScore(qa, b), groupScore(plainA, a) - groupScore(plainA, b) + 0.02)
        XCTAssertGreaterThan(groupScore(qb, b) - groupScore(qb, a), groupScore(plainB, b) - groupScore(plainB, a) + 0.02)

        // A set (ordered false) gets no recency: either order folds in as without it.
        var setA = endsWithA, setB = endsWithB
        setA.ordered = false
        setB.ordered = false
        let unorderedA = foldIn.encode(items: result.itemFactors, bag: setA)!, unorderedB = foldIn.encode(items: result.itemFactors, bag: setB)!
        for j in 0..<8 {
            XCTAssertEqual(unorderedA[j], plainA[j], accuracy: 1e-5)
            XCTAssertEqual(unorderedB[j], plainA[j], accuracy: 1e-5)
        }

        var bag = ItemBag()
        for i: Int32 in [5, 6, 7, 5] { bag.add(i, weight: 1) }
        XCTAssertEqual(bag.indices, [5, 6, 7])
        XCTAssertEqual(bag.weights, [2, 1, 1])
        XCTAssertEqual(bag.recencyRanks, [0, 2, 1], "touching 5 again makes it the newest")

        var data = Interactions(hasTimestamps: true)
        for (item, time) in [("x", 30.0), ("y", 10.0), ("z", 20.0), ("y", 40.0)] { data.append(user: "u", item: item, weight: 1, timestamp: time) }
        let m = data.userItemMatrix()
        let row = ItemBag(row: 0, of: m)
        let ids = row.indices.map { data.items[$0] }
        let ranks = Dictionary(uniqueKeysWithValues: zip(ids, row.recencyRanks))
        XCTAssertEqual(ranks, ["y": 0, "x": 1, "z": 2], "by timestamp, a repeat counting at its latest")
    }

    func testDeterministicForASeedWhateverTheThreadCount() {
        let (matrix, _, _) = plantedMatrix()
        let one = WALS.train(matrix, parameters(), threads: 1)
        let three = WALS.train(matrix, parameters(), threads: 3)
        XCTAssertEqual(one.itemFactors, three.itemFactors)
        XCTAssertEqual(one.userFactors, three.userFactors)
    }

    func testConjugateGradientApproachesTheExactSolve() {
        let (matrix, _, _) = plantedMatrix()
        var exact = parameters(.cholesky), cg = parameters(.cg)
        exact.iterations = 15
        cg.iterations = 15
        cg.cgSteps = 4
        let a = WALS.train(matrix, exact, threads: 2).epochs.last!.loss, b = WALS.train(matrix, cg, threads: 2).epochs.last!.loss
        XCTAssertEqual(b, a, accuracy: 0.05 * a)
    }

    func testUnobservedWeightZeroStillTrains() {
        let (matrix, _, _) = plantedMatrix()
        var p = parameters()
        p.unobservedWeight = 0
        let result = WALS.train(matrix, p, threads: 2)
        XCTAssertTrue(result.itemFactors.isFinite)
    }
}

/// Gaussian elimination with partial pivoting, in Double.
func solveDouble(_ a: [Double], _ b: [Double], _ d: Int) -> [Double] {
    var m = a, x = b
    for col in 0..<d {
        let pivot = (col..<d).max { abs(m[$0 * d + col]) < abs(m[$1 * d + col]) }!
        if pivot != col {
            for c in 0..<d { m.swapAt(col * d + c, pivot * d + c) }
            x.swapAt(col, pivot)
        }
        for r in (col + 1)..<d {
            let f = m[r * d + col] / m[col * d + col]
            for c in col..<d { m[r * d + c] -= f * m[col * d + c] }
            x[r] -= f * x[col]
        }
    }
    for r in stride(from: d - 1, through: 0, by: -1) {
        var sum = x[r]
        for c in (r + 1)..<d { sum -= m[r * d + c] * x[c] }
        x[r] = sum / m[r * d + r]
    }
    return x
}
