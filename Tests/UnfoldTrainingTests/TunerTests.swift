import XCTest
import UnfoldData
import UnfoldMath
@testable import UnfoldModels
@testable import UnfoldTraining

final class TunerTests: XCTestCase {
    func data() throws -> Interactions {
        try SyntheticGenerator(users: 200, items: 80, interactions: 5000, groups: 4, seed: 7).generate().interactions
    }

    func spec(_ tune: TuningRequest, seed: Int = 42) throws -> TrainingSpec {
        var spec = try TrainingSpec(kind: .wals, values: ["factors": .number(8), "iterations": .number(9), "seed": .number(Double(seed)), "threads": .number(2)],
                                    data: DataSource(path: "unused"))
        spec.tune = tune
        return spec
    }

    /// Runs the tuner as the pipeline does; also returns the validation split it scored on.
    func tune(_ train: Interactions, _ spec: TrainingSpec) throws -> (TrainingSpec, TuningRecord, TrainingData, CSRMatrix) {
        let pipeline = TrainingPipeline(spec: spec, output: NSTemporaryDirectory(), reporter: ProgressReporter(mode: .none))
        var carved: (TrainingData, CSRMatrix)?
        let tuner = Tuner(spec: spec, request: spec.tune!, threads: 2, reporter: ProgressReporter(mode: .none)) { data, fraction in
            let split = try pipeline.carve(data, fraction: fraction, quiet: true)
            carved = split
            return split
        }
        let (chosen, record) = try tuner.run(TrainingData(train))
        return (chosen, record, carved!.0, carved!.1)
    }

    func testSearchSpacePointsAreSeededQuasiRandomAndInRange() throws {
        let space = try XCTUnwrap(SearchSpace.of(.wals))
        XCTAssertEqual(space.resource, "iterations")
        let a = (1...50).map { space.point($0, seed: 1) }, again = (1...50).map { space.point($0, seed: 1) }, other = (1...50).map { space.point($0, seed: 2) }
        XCTAssertEqual(a, again)
        XCTAssertNotEqual(a, other)
        for point in a {
            guard case .number(let lambda)? = point["regularization"], case .number(let factors)? = point["factors"] else { return XCTFail("\(point)") }
            XCTAssertTrue((0.02...2).contains(lambda), "\(lambda)")
            XCTAssertTrue([32, 64, 128].contains(factors))
            // Every point is a valid WALS configuration.
            XCTAssertNoThrow(try WALSParameters(values: point))
        }
        // Halton points spread: 50 points put about a fifth in each fifth of a dimension's range.
        let u = a.compactMap { point -> Double? in
            guard case .number(let lambda)? = point["regularization"] else { return nil }
            return log(lambda / 0.02) / log(2 / 0.02)
        }
        for fifth in 0..<5 { XCTAssertEqual(u.filter { Int($0 * 5) == fifth }.count, 10, accuracy: 3) }
        for kind in ModelKind.all { XCTAssertNotNil(SearchSpace.of(kind), kind.name) }
        for kind in ModelKind.all {
            let s = SearchSpace.of(kind)!
            XCTAssertNoThrow(try kind.parameters.init(values: s.point(3, seed: 9)), kind.name)
        }
        XCTAssertEqual(TuningRequest.seconds("10m"), 600)
        XCTAssertEqual(TuningRequest.seconds("90s"), 90)
        XCTAssertEqual(TuningRequest.seconds("1.5h"), 5400)
        XCTAssertEqual(TuningRequest.seconds("45"), 45)
        XCTAssertNil(TuningRequest.seconds("soon"))
    }

    /// A fixed number of configurations and a seed give the same search and the same choice;
    /// the validation split comes from the training data only (never the test split) and
    /// holds each user's latest interactions.
    func testTuningIsDeterministicAndValidatesOnTrainingDataOnly() throws {
        let all = try data()
        let (train, test) = try Splitter.split(all, .temporal(testFraction: 0.2))
        let request = TuningRequest(budgetSeconds: 600, trials: 6)
        let (chosen, record, carvedTrain, validation) = try tune(train, try spec(request))
        let (chosenAgain, recordAgain, _, _) = try tune(train, try spec(request))
        XCTAssertEqual(record.trials.map(\.configuration), recordAgain.trials.map(\.configuration))
        XCTAssertEqual(record.trials.map(\.validation), recordAgain.trials.map(\.validation))
        XCTAssertEqual(chosen, chosenAgain)
        XCTAssertEqual(record.chosen, recordAgain.chosen)
        // Rounds of 1, 3, 9 iterations over 6, 2, 1 configurations; the choice is the best of the last.
        XCTAssertEqual(record.trials.map(\.epochs), [1, 1, 1, 1, 1, 1, 3, 3, 9])
        XCTAssertTrue(record.completed)
        XCTAssertEqual(record.chosenValidation, record.trials.last!.validation)
        XCTAssertEqual(record.chosen, record.trials.last!.configuration)
        XCTAssertNil(chosen.tune)
        XCTAssertEqual(chosen.values["iterations"], .number(9), "the choice trains for the full iterations")
        for (name, value) in record.chosenParameters { XCTAssertEqual(chosen.values[name], value, name) }
        let (_, otherSeed, _, _) = try tune(train, try spec(request, seed: 5))
        XCTAssertNotEqual(otherSeed.trials.dropFirst().map(\.parameters), record.trials.dropFirst().map(\.parameters), "another seed searches other points")

        // The validation split is carved from the training split alone (the tuner is never
        // handed the test split): every validation pair is a training record's, none of the
        // test records' times occurs in it, and each is no earlier than everything its user
        // kept for the trials (users re-consume items, so pairs alone could repeat in test).
        func latest(_ data: Interactions) -> [String: Double] {
            var out: [String: Double] = [:]
            for k in 0..<data.count { out[data.users[data.userIndex[k]] + "|" + data.items[data.itemIndex[k]], default: -.infinity] = max(out[data.users[data.userIndex[k]] + "|" + data.items[data.itemIndex[k]], default: -.infinity], data.timestamps![k]) }
            return out
        }
        let trainPairs = latest(train)
        var latestKept: [String: Double] = [:]
        let kept = carvedTrain.interactions
        for k in 0..<kept.count { latestKept[kept.users[kept.userIndex[k]], default: -.infinity] = max(latestKept[kept.users[kept.userIndex[k]], default: -.infinity], kept.timestamps![k]) }
        XCTAssertGreaterThan(validation.nonZeroCount, 0)
        XCTAssertEqual(record.validationInteractions, validation.nonZeroCount)
        XCTAssertLessThan(kept.count, train.count)
        let testTimes = Set(test.timestamps!)
        for u in 0..<validation.rows {
            let user = kept.users[Int32(u)]
            for k in validation.rowRange(u) {
                let key = user + "|" + kept.items[validation.indices[k]]
                let time = try XCTUnwrap(trainPairs[key], "validation pair \(key) is not a training interaction")
                XCTAssertFalse(testTimes.contains(time), "\(key) at \(time) is a test record's time")
                XCTAssertGreaterThanOrEqual(time, latestKept[user]!, key)
            }
        }
    }

    /// A budget that runs out ends the search with the best of what ran.
    func testABudgetEndsTheSearchEarly() throws {
        let (train, _) = try Splitter.split(try data(), .temporal(testFraction: 0.2))
        var request = TuningRequest(budgetSeconds: 1, trials: 6)
        request.validationFraction = 0.2
        var s = try spec(request)
        s.tune = request
        let pipeline = TrainingPipeline(spec: s, output: NSTemporaryDirectory(), reporter: ProgressReporter(mode: .none))
        var tuner = Tuner(spec: s, request: request, threads: 2, reporter: ProgressReporter(mode: .none)) { try pipeline.carve($0, fraction: $1, quiet: true) }
        // A clock that jumps 0.4 s per reading: the budget of 1 s is spent after a few trials.
        var now = 0.0
        tuner.clock = { now += 0.4; return now }
        let (_, record) = try tuner.run(TrainingData(train))
        XCTAssertFalse(record.completed)
        XCTAssertLessThan(record.trials.count, 9)
        XCTAssertTrue(record.trials.contains { $0.configuration == record.chosen })
    }
}
