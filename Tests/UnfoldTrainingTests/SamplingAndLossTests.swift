import XCTest
import UnfoldData
import UnfoldMath
import UnfoldModels
@testable import UnfoldTraining

final class SamplingAndLossTests: XCTestCase {
    /// Pearson's chi-square statistic of observed counts against expected probabilities.
    func chiSquare(_ counts: [Int], _ expected: [Double]) -> Double {
        let n = Double(counts.reduce(0, +))
        return zip(counts, expected).reduce(0.0) { sum, pair in
            let e = pair.1 * n
            return e > 0 ? sum + (Double(pair.0) - e) * (Double(pair.0) - e) / e : sum
        }
    }

    func testAliasSamplerMatchesItsWeights() {
        let weights: [Double] = [1, 2, 3, 4, 0.5, 9.5]
        let alias = AliasSampler(weights: weights)
        var rng = SplitMix64(seed: 1)
        var counts = [Int](repeating: 0, count: weights.count)
        for _ in 0..<200_000 { counts[alias.sample(&rng)] += 1 }
        // 5 degrees of freedom: the 99.9% point is 20.5.
        XCTAssertLessThan(chiSquare(counts, weights.map { $0 / 20 }), 20.5)
    }

    func testUniformAndPopularitySamplersExcludePositivesAndMatchTheirTargets() {
        let counts: [Float] = (0..<20).map { Float($0 % 5 + 1) * 10 }
        let positives: ArraySlice<Int32> = [2, 7, 11]
        for kind in [NegativeSampling.uniform, .popularity(beta: 0.75)] {
            let sampler = NegativeSampler(kind, itemCounts: counts)
            var rng = SplitMix64(seed: 2)
            var drawn = [Int](repeating: 0, count: 20)
            for _ in 0..<100_000 { drawn[sampler.sample(positives: positives, rng: &rng) { _ in 0 }!] += 1 }
            for p in positives { XCTAssertEqual(drawn[Int(p)], 0, "positive \(p) drawn as a negative") }
            var target = (0..<20).map { i -> Double in
                if positives.contains(Int32(i)) { return 0 }
                if case .popularity(let beta) = kind { return pow(Double(counts[i]), beta) }
                return 1
            }
            let total = target.reduce(0, +)
            target = target.map { $0 / total }
            // 16 degrees of freedom: the 99.9% point is 39.3.
            XCTAssertLessThan(chiSquare(drawn, target), 39.3, "\(kind)")
        }
    }

    func testHardNegativesFavourHighScores() {
        let sampler = NegativeSampler(.hard(candidates: 10, temperature: 1), itemCounts: [Float](repeating: 1, count: 50))
        var rng = SplitMix64(seed: 3)
        var drawn = [Int](repeating: 0, count: 50)
        for _ in 0..<20_000 { drawn[sampler.sample(positives: [0], rng: &rng) { Float($0) / 5 }!] += 1 }
        XCTAssertEqual(drawn[0], 0)
        XCTAssertGreaterThan(drawn[40..<50].reduce(0, +), 5 * drawn[1..<11].reduce(0, +), "higher-scored items are drawn far more often")
        XCTAssertNil(NegativeSampler(.none, itemCounts: [1, 1]).sample(positives: [], rng: &rng) { _ in 0 })
    }

    /// Every loss gradient against central finite differences.
    func testLossGradientsMatchFiniteDifferences() {
        let h: Float = 1e-3
        for (p, n) in [(0.3, -0.2), (2.0, 1.5), (-1.0, 0.7)] as [(Float, Float)] {
            let r = Losses.bpr(positive: p, negative: n)
            XCTAssertEqual(r.dPositive, (Losses.bpr(positive: p + h, negative: n).loss - Losses.bpr(positive: p - h, negative: n).loss) / (2 * h), accuracy: 1e-3)
            XCTAssertEqual(r.dNegative, (Losses.bpr(positive: p, negative: n + h).loss - Losses.bpr(positive: p, negative: n - h).loss) / (2 * h), accuracy: 1e-3)
            for label: Float in [0, 1] {
                let b = Losses.binaryCrossEntropy(score: p, label: label)
                let fd = (Losses.binaryCrossEntropy(score: p + h, label: label).loss - Losses.binaryCrossEntropy(score: p - h, label: label).loss) / (2 * h)
                XCTAssertEqual(b.dScore, fd, accuracy: 1e-3)
            }
        }
        let negatives: [Float] = [0.5, -0.3, 1.2], logQ: [Float] = [-2, -3, -1.5]
        let s = Losses.sampledSoftmax(positive: 0.8, negatives: negatives, logQPositive: -2.5, logQNegatives: logQ)
        let fdPos = (Losses.sampledSoftmax(positive: 0.8 + h, negatives: negatives, logQPositive: -2.5, logQNegatives: logQ).loss
                     - Losses.sampledSoftmax(positive: 0.8 - h, negatives: negatives, logQPositive: -2.5, logQNegatives: logQ).loss) / (2 * h)
        XCTAssertEqual(s.dPositive, fdPos, accuracy: 1e-3)
        for j in 0..<3 {
            var up = negatives, down = negatives
            up[j] += h
            down[j] -= h
            let fd = (Losses.sampledSoftmax(positive: 0.8, negatives: up, logQPositive: -2.5, logQNegatives: logQ).loss
                      - Losses.sampledSoftmax(positive: 0.8, negatives: down, logQPositive: -2.5, logQNegatives: logQ).loss) / (2 * h)
            XCTAssertEqual(s.dNegatives[j], fd, accuracy: 1e-3)
        }
        XCTAssertTrue(Losses.bpr(positive: 100, negative: -100).loss.isFinite, "no overflow")
    }

    /// A hand-built folded embedding: two groups whose item vectors point the same way.
    func testFoldingRateOfAHandBuiltEmbedding() {
        // 4 users (groups 0,0,1,1), 8 items (groups 0,1,0,1,...); each user saw one in-group item.
        let train = CSRMatrix(rows: 4, cols: 8, rowIndex: [0, 1, 2, 3], colIndex: [0, 2, 1, 3], values: [1, 1, 1, 1])
        let userGroups: [Int32] = [0, 0, 1, 1], itemGroups: [Int32] = (0..<8).map { Int32($0 % 2) }
        // Separated: every user's scores favour its own group (score = [same group] + 0.01 i).
        let groupItems = servedModel(matrix((0..<8).map { i in [itemGroups[i] == 0 ? 1 : 0, itemGroups[i] == 1 ? 1 : 0, Float(i) * 0.01] }))
        let groupUsers = matrix(userGroups.map { g in [g == 0 ? 1 : 0, g == 1 ? 1 : 0, 1] })
        let separated = Evaluation.foldingRate(groupItems, train: train, userGroups: userGroups, itemGroups: itemGroups, k: 2, lists: .vectors(groupUsers), threads: 1)
        XCTAssertEqual(separated, 0)
        // Folded: one direction for all items (score = i), so every user gets the same mixed list.
        let line = servedModel(matrix((0..<8).map { [Float($0)] }))
        let folded = Evaluation.foldingRate(line, train: train, userGroups: userGroups, itemGroups: itemGroups, k: 2, lists: .vectors(matrix([[1], [1], [1], [1]])), threads: 1)
        XCTAssertEqual(folded, 0.5, "top-2 of every user is items 7 and 6: one from each group")
    }

    func testFoldingExcessOfAHandBuiltEmbedding() {
        // One user of group 0 who saw item 0; items 1…7 alternate groups 1, 0, 1, ...
        let train = CSRMatrix(rows: 1, cols: 8, rowIndex: [0], colIndex: [0], values: [1])
        let itemGroups: [Int32] = (0..<8).map { Int32($0 % 2) }
        // score = 5 for group 0, 0.1 i for group 1.
        let split = servedModel(matrix((0..<8).map { i in itemGroups[i] == 0 ? [1, 0] : [0, Float(i) * 0.1] }))
        let separated = Evaluation.foldingExcess(split, train: train, userGroups: [0], itemGroups: itemGroups, lists: .vectors(matrix([[5, 1]])), threads: 1)
        XCTAssertEqual(separated, 0, "every cross-group score is below the in-group mean")
        // Folded: score = i. In-group items 2, 4, 6 (mean 4); all scores 1…7 (σ = 2); the
        // cross-group items 1, 3, 5, 7 exceed by 0, 0, 0.5, 1.5 σ: mean 0.5.
        let line = servedModel(matrix((0..<8).map { [Float($0)] }))
        let folded = Evaluation.foldingExcess(line, train: train, userGroups: [0], itemGroups: itemGroups, lists: .vectors(matrix([[1]])), threads: 1)
        XCTAssertEqual(folded, 0.5, accuracy: 1e-9)
        // Scale-free: multiplying every score by 100 changes nothing.
        let scaled = Evaluation.foldingExcess(line, train: train, userGroups: [0], itemGroups: itemGroups, lists: .vectors(matrix([[100]])), threads: 1)
        XCTAssertEqual(scaled, 0.5, accuracy: 1e-6)
    }

    func testMFSGDWithNegativesRecoversPlantedGroups() throws {
        for optimizer in Optimizer.allCases {
            try recoversPlantedGroups(optimizer: optimizer, batchSize: optimizer == .sgd ? 16 : 1)
        }
    }

    func recoversPlantedGroups(optimizer: Optimizer, batchSize: Int) throws {
        let output = try SyntheticGenerator(users: 300, items: 120, interactions: 9000, groups: 3, inGroupProbability: 1, seed: 4).generate()
        let matrix = output.interactions.userItemMatrix()
        var p = MFSGDParameters()
        p.factors = 16
        p.epochs = 8
        p.regularization = 0.0001
        p.optimizer = optimizer
        p.batchSize = batchSize
        p.learningRate = optimizer == .adam ? 0.01 : (optimizer == .sgd ? 0.5 : 0.05)
        var epochs: [EpochRecord] = []
        // One thread: Hogwild on two is not reproducible, and this asserts a threshold.
        let result = MFSGD.train(matrix, p, threads: 1, onEpoch: { epochs.append($0) })
        XCTAssertEqual(epochs.count, 8)
        XCTAssertLessThan(epochs.last!.loss, epochs.first!.loss, "the loss falls (\(optimizer))")
        XCTAssertTrue(epochs.allSatisfy { $0.stableRankItems >= 1 && $0.stableRankItems <= 16 })
        let rate = Evaluation.foldingRate(servedModel(result.itemFactors), train: matrix, userGroups: output.userGroups, itemGroups: output.itemGroups, k: 10,
                                          lists: .vectors(result.userFactors), threads: 1)
        XCTAssertLessThan(rate, 0.05, "BPR with uniform negatives keeps the groups apart (\(optimizer), batch \(batchSize))")
    }

    /// Disliked items are explicit negatives of mf-sgd: each user's disliked in-group items
    /// end up scored below that user's other unseen in-group items, which they were not
    /// without the dislikes (same data, seed and thread count).
    func testMFSGDTakesDislikesAsExplicitNegatives() throws {
        let output = try SyntheticGenerator(users: 300, items: 120, interactions: 6000, groups: 3, inGroupProbability: 1, seed: 4).generate()
        let matrix = output.interactions.userItemMatrix()
        // Every group-0 user dislikes the same two group-0 items it has not interacted with.
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = []
        var disliked: [Int: [Int32]] = [:]
        let groupItems = (0..<matrix.cols).filter { output.itemGroups[$0] == 0 }
        for u in 0..<matrix.rows where output.userGroups[u] == 0 {
            let seen = Set(matrix.indices[matrix.rowRange(u)])
            let pick = groupItems.map(Int32.init).filter { !seen.contains($0) }.prefix(2)
            for i in pick { rows.append(Int32(u)); cols.append(i); values.append(-1) }
            disliked[u] = Array(pick)
        }
        let dislikes = CSRMatrix(rows: matrix.rows, cols: matrix.cols, rowIndex: rows, colIndex: cols, values: values)
        var p = MFSGDParameters()
        p.factors = 16
        p.epochs = 8
        p.regularization = 0.0001
        p.learningRate = 0.05
        func margin(_ r: MFSGD.Result) -> Double {
            // Mean over users of (mean score of disliked) − (mean score of other unseen in-group items).
            var total = 0.0, n = 0
            for (u, bad) in disliked where !bad.isEmpty {
                let seen = Set(matrix.indices[matrix.rowRange(u)]).union(bad)
                let others = groupItems.map(Int32.init).filter { !seen.contains($0) }
                guard !others.isEmpty else { continue }
                func score(_ i: Int32) -> Double { Double((0..<16).reduce(Float(0)) { $0 + r.userFactors[u, $1] * r.itemFactors[Int(i), $1] }) }
                total += bad.map(score).reduce(0, +) / Double(bad.count) - others.map(score).reduce(0, +) / Double(others.count)
                n += 1
            }
            return total / Double(max(n, 1))
        }
        let plain = margin(MFSGD.train(matrix, p, threads: 1))
        let taught = margin(MFSGD.train(matrix, p, threads: 1, dislikes: dislikes))
        XCTAssertLessThan(taught, plain - 0.5, "disliked items fall below the other unseen in-group items (plain \(plain), with dislikes \(taught))")
        XCTAssertLessThan(taught, 0)
    }
}
