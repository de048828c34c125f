import XCTest
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing
@testable import UnfoldTraining

final class SoftmaxDNNTests: XCTestCase {
    let schema: [FeatureSpec] = [.numeric("age", mean: 30, std: 10), .categorical("job", values: ["artist", "doctor", "writer"], dimensions: 2)]

    /// A tiny tower and the loss of one batch of a sequence, with the sampler's draws fixed
    /// by the seed: the analytic gradient in `grad` against central finite differences of
    /// that loss, for every parameter.
    func gradientCheck(ordered: Bool) {
        let n = 7
        let layout = SoftmaxDNN.Layout(n: n, e: 4, d: 3, hidden: [5], features: schema)
        var p = SoftmaxParameters()
        p.inputDimensions = 4
        p.factors = 3
        p.hidden = [5]
        p.negatives = 3
        p.batchSize = 4
        p.initScale = 0.5
        p.regularization = 0
        var params = SoftmaxDNN.initialParameters(layout, p, seed: 42)
        // Biases away from zero, so ReLU kinks are unlikely to sit within h of a pre-activation.
        let shapes = layout.tower.shapes
        for l in 0..<shapes.count { for r in 0..<shapes[l].output { params[layout.tower.biases[l] + r] = 0.3 * Float(r % 3) - 0.2 } }
        for i in 0..<n { params[layout.itemBias + i] = Float(i) * 0.05 }
        let sequence = SoftmaxDNN.Sequence(items: [1, 4, 2, 5], weights: [1, 2, 0.5, 1])
        let features: [String: FeatureValue] = ["age": .number(41), "job": .string("doctor")]
        let sampler = NegativeSampler(.uniform, itemCounts: [Float](repeating: 1, count: n))
        let positives: ArraySlice<Int32> = [1, 2, 4, 5]
        let range = ordered ? 1..<4 : 0..<4

        func run(_ values: inout [Float], keepGradient: Bool) -> (loss: Double, gradient: [Float]) {
            var gradient: [Float] = []
            var loss = 0.0
            values.withUnsafeMutableBufferPointer { P in
                let w = SoftmaxDNN.Batch(layout: layout, p: p, P: P.baseAddress!, M: P.baseAddress!, S: P.baseAddress!)
                var rng = SplitMix64(seed: 9)
                loss = w.run(sequence, ordered: ordered, range: range, features: FeatureInput(features, schema: schema), positives: positives, sampler: sampler, rng: &rng)
                if keepGradient { gradient = Array(UnsafeBufferPointer(start: w.grad, count: layout.count)) }
                w.release()
            }
            return (loss, gradient)
        }
        let analytic = run(&params, keepGradient: true).gradient
        let h: Float = 1e-2
        var checked = 0, worst: Float = 0
        for k in 0..<layout.count {
            let saved = params[k]
            params[k] = saved + h
            let up = run(&params, keepGradient: false).loss
            params[k] = saved - h
            let down = run(&params, keepGradient: false).loss
            params[k] = saved
            let numeric = Float((up - down) / Double(2 * h))
            let error = abs(numeric - analytic[k]) / max(1, abs(numeric))
            worst = max(worst, error)
            if error > 2e-2 { XCTFail("parameter \(k) (\(ordered ? "ordered" : "leave one out")): numeric \(numeric), analytic \(analytic[k])") }
            if analytic[k] != 0 { checked += 1 }
        }
        XCTAssertGreaterThan(checked, 60, "most parameters get a gradient")
        // Parameters no example touches (the unknown job row, never-drawn items) stay exactly 0.
        XCTAssertEqual(analytic[layout.tower.featureTables[1]], 0)
    }

    func testTowerGradientMatchesFiniteDifferencesOrdered() { gradientCheck(ordered: true) }

    func testTowerGradientMatchesFiniteDifferencesLeaveOneOut() { gradientCheck(ordered: false) }

    /// Planted groups: users of group g consume items of group g in a fixed cyclic order; the
    /// tower must learn to recommend within the group, and to serve an unseen user from
    /// features alone (the group is a categorical feature).
    func testLearnsPlantedGroupsAndServesFromFeaturesAlone() {
        let groups = 3, itemsPerGroup = 10, usersPerGroup = 40
        var sequences: [SoftmaxDNN.Sequence] = []
        var values: [[String: FeatureValue]] = []
        var rng = SplitMix64(seed: 5)
        for g in 0..<groups {
            for _ in 0..<usersPerGroup {
                let start = rng.nextInt(below: itemsPerGroup)
                let items = (0..<6).map { Int32(g * itemsPerGroup + (start + $0) % itemsPerGroup) }
                sequences.append(.init(items: items, weights: [Float](repeating: 1, count: items.count)))
                values.append(["group": .string("g\(g)")])
            }
        }
        let n = groups * itemsPerGroup
        let schema = SoftmaxDNN.schema(values, kinds: [("group", .categorical)], dimensions: 4)
        XCTAssertEqual(schema[0].values, ["g0", "g1", "g2"])
        var p = SoftmaxParameters()
        p.factors = 8
        p.inputDimensions = 8
        p.hidden = [16]
        p.negatives = 10
        p.epochs = 30
        p.learningRate = 0.01
        p.batchSize = 8
        p.regularization = 0
        var epochs: [EpochRecord] = []
        let result = SoftmaxDNN.train(sequences, ordered: true, items: n, features: .init(schema: schema, values: values), p, threads: 1, onEpoch: { epochs.append($0) })
        XCTAssertEqual(epochs.count, 30)
        XCTAssertLessThan(epochs.last!.loss, epochs.first!.loss * 0.7, "the loss falls")
        XCTAssertTrue(epochs.allSatisfy { $0.stableRankItems >= 1 && $0.stableRankItems <= 8 })
        // Served the way the server serves it: the model's encoder, retrieval with the item biases.
        let served = servedModel(result.items, encoder: .tower(result.tower))
        func top(_ items: [Int32], _ features: [String: FeatureValue]) -> [Int] {
            var bag = ItemBag()
            for i in items { bag.add(i, weight: 1) }
            let query = RecommendQuery(k: 5, excludeSeen: false, features: features)
            return try! Recommender.recommend(query, posted: PostedItems(bag: bag), with: served).items.map(\.index)
        }
        for g in 0..<groups {
            let history = [Int32(g * itemsPerGroup + 2), Int32(g * itemsPerGroup + 3)]
            XCTAssertTrue(top(history, ["group": .string("g\(g)")]).allSatisfy { $0 / itemsPerGroup == g }, "group \(g) from history and features")
            XCTAssertTrue(top([], ["group": .string("g\(g)")]).allSatisfy { $0 / itemsPerGroup == g }, "group \(g) from features alone (cold start)")
        }
    }

    func testFeatureVectorChecksNamesAndTypes() {
        // The tower's input x = [bag (2); age (1); job (2)]; one linear layer that copies x's
        // feature part to q, so the forward pass shows the features as the tower reads them.
        let layout = TowerLayout(items: 2, inputDimensions: 2, hidden: [], outputDimensions: 3, features: schema)
        var parameters = [Float](repeating: 0, count: layout.count)
        for (k, v) in (0..<8).enumerated() { parameters[layout.featureTables[1] + k] = Float(v) }
        for r in 0..<3 { parameters[layout.weights[0] + r * 5 + 2 + r] = 1 }
        let tower = Tower(layout: layout, parameters: PinnedArray(parameters), itemBias: PinnedArray([0, 0]))
        func forward(_ values: [String: FeatureValue]) throws -> [Float] {
            let input = try tower.features(values)
            var q = [Float](repeating: 0, count: 3)
            q.withUnsafeMutableBufferPointer { tower.encode(bag: ItemBag(), features: input, out: $0.baseAddress!) }
            return q
        }
        XCTAssertEqual(try forward(["age": .number(50), "job": .string("writer")]), [2, 6, 7])
        XCTAssertEqual(try forward([:]), [0, 0, 1], "missing: the mean and the unknown row")
        XCTAssertEqual(try forward(["job": .string("pilot")]), [0, 0, 1], "an unseen value uses the unknown row")
        XCTAssertThrowsError(try tower.features(["height": .number(1)])) { error in
            XCTAssertEqual("\(error)", "unknown feature 'height'; this model's features are: age, job")
        }
        XCTAssertThrowsError(try tower.features(["age": .string("old")])) { XCTAssertEqual("\($0)", "feature 'age' must be a number") }
        XCTAssertThrowsError(try tower.features(["job": .number(3)])) { XCTAssertEqual("\($0)", "feature 'job' must be a string") }
    }

    func testFeaturesFromAUsersFile() throws {
        let path = NSTemporaryDirectory() + "users-\(UInt32.random(in: 0...UInt32.max)).tsv"
        try "user_id:token\tage:token\tgender:token\tzip:token\n1\t24\tM\t85711\n2\t53\tF\t94043\n3\t\tM\t32067\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try UserFeatureFile.read(path: path)
        XCTAssertEqual(file.columns, ["age", "gender", "zip"])
        var users = IDMap()
        for id in ["2", "1", "9"] { _ = users.intern(id) }
        let features = try SoftmaxDNN.features(file, path: path, selection: "age:numeric,gender", users: users, dimensions: 3)
        XCTAssertEqual(features.schema.map(\.name), ["age", "gender"])
        XCTAssertEqual(features.schema[0].kind, .numeric)
        XCTAssertEqual(features.schema[0].mean, 38.5, accuracy: 1e-5)
        XCTAssertEqual(features.schema[1].values, ["F", "M"])
        XCTAssertEqual(features.values[0], ["age": .number(53), "gender": .string("F")])
        XCTAssertEqual(features.values[2], [:], "a user the file does not list has no features")
        XCTAssertThrowsError(try SoftmaxDNN.features(file, path: path, selection: "height", users: users, dimensions: 3)) {
            XCTAssertTrue("\($0)".contains("no column 'height'"), "\($0)")
        }
    }

    func testInBatchNegativesComeFromTheBatchAndExcludePositives() {
        let counts: [Float] = (0..<10).map { Float($0 + 1) }
        let sampler = NegativeSampler(.inBatch, itemCounts: counts)
        XCTAssertEqual(sampler.logQ[9], logf(10 / 55), accuracy: 1e-5, "logQ is the item's share of the interactions")
        let batch: [Int32] = [3, 3, 5, 7, 2, 3]
        var rng = SplitMix64(seed: 4)
        var drawn = [Int](repeating: 0, count: 10)
        batch.withUnsafeBufferPointer { b in
            for _ in 0..<60_000 { drawn[sampler.sample(positives: [2, 7], rng: &rng, batch: b) { _ in 0 }!] += 1 }
        }
        XCTAssertEqual(drawn[2] + drawn[7], 0, "positives are never negatives")
        XCTAssertEqual(drawn.reduce(0, +), drawn[3] + drawn[5], "only batch items are drawn")
        // Batch items in proportion to their occurrences: 3 three times, 5 once.
        XCTAssertEqual(Double(drawn[3]) / Double(drawn[5]), 3, accuracy: 0.1)
        [Int32](arrayLiteral: 2, 7).withUnsafeBufferPointer { b in
            XCTAssertNil(sampler.sample(positives: [2, 7], rng: &rng, batch: b) { _ in 0 }, "nothing to draw when every batch item is a positive")
        }
    }

    func testMFSGDWithInBatchNegativesKeepsPlantedGroupsApart() throws {
        let output = try SyntheticGenerator(users: 300, items: 120, interactions: 9000, groups: 3, inGroupProbability: 1, seed: 4).generate()
        let matrix = output.interactions.userItemMatrix()
        var p = MFSGDParameters()
        p.factors = 16
        p.epochs = 8
        p.loss = .softmax
        p.sampler = .inBatch
        p.negatives = 8
        p.batchSize = 64
        p.regularization = 0.0001
        let result = MFSGD.train(matrix, p, threads: 1)
        let rate = Evaluation.foldingRate(servedModel(result.itemFactors), train: matrix, userGroups: output.userGroups, itemGroups: output.itemGroups, k: 10,
                                          lists: .vectors(result.userFactors), threads: 1)
        XCTAssertLessThan(rate, 0.05, "in-batch negatives keep the groups apart")
    }
}
