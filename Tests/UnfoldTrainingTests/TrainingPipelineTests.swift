import XCTest
import UnfoldData
import UnfoldModels
import UnfoldServing
import UnfoldSnapshot
@testable import UnfoldTraining

/// The pipeline from a spec to a snapshot file, for every model kind.
final class TrainingPipelineTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "unfold-pipeline-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let output = try SyntheticGenerator(users: 150, items: 60, interactions: 3000, groups: 3, seed: 9).generate()
        let (train, test) = try Splitter.split(output.interactions, .random(testFraction: 0.2, seed: 1))
        try InteractionWriter.write(train, to: directory + "/train.tsv")
        try InteractionWriter.write(test, to: directory + "/test.tsv")
        var groups = "kind\tid\tgroup\n"
        for (u, g) in output.userGroups.enumerated() { groups += "user\t\(output.interactions.users[Int32(u)])\t\(g)\n" }
        for (i, g) in output.itemGroups.enumerated() { groups += "item\t\(output.interactions.items[Int32(i)])\t\(g)\n" }
        try groups.write(toFile: directory + "/groups.tsv", atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testEveryKindBecomesAServableSnapshotWithItsRecipe() throws {
        let data = DataSource(path: directory + "/train.tsv", test: directory + "/test.tsv", groups: directory + "/groups.tsv")
        let small: [ModelKind: [String: ParameterValue]] = [
            .wals: ["iterations": .number(3)], .mfSGD: ["epochs": .number(2), "fold_in_scale": .number(100)],
            .softmax: ["epochs": .number(2), "hidden": .string("8"), "negatives": .number(10)], .item2vec: ["epochs": .number(2)],
        ]
        for kind in ModelKind.all {
            var values = small[kind] ?? [:]
            values["factors"] = .number(8)
            values["neighbours"] = .number(4)
            values["threads"] = .number(2)
            let spec = try TrainingSpec(kind: kind, values: values, data: data)
            let outcome = try TrainingPipeline(spec: spec, output: directory + "/snapshots", reporter: ProgressReporter(mode: .none)).run()
            let snapshot = try Snapshot.open(path: outcome.path)
            let model = snapshot.model
            XCTAssertEqual(model.kind, kind)
            XCTAssertEqual(model.metadata.recipe, spec, "the snapshot keeps the spec it was trained from")
            XCTAssertEqual(model.neighbours.perItem, 4)
            XCTAssertEqual(model.dimensions, 8)
            XCTAssertEqual(model.metadata.epochs.count, kind == .wals ? 3 : 2)
            XCTAssertEqual(model.metadata.evaluation["users"], outcome.evaluation["users"])
            for key in ["ndcg@10", "folding@10", "folding_excess"] { XCTAssertNotNil(model.metadata.evaluation[key], "\(kind): \(key)") }
            XCTAssertNotNil(model.metadata.popularityBaseline["ndcg@10"])
            // The metadata's NDCG is the served model's.
            let served = ServedModel(name: kind.name, model: model)
            let trainData = try InteractionReader().read(path: directory + "/train.tsv").interactions
            let testData = try InteractionReader().read(path: directory + "/test.tsv").interactions
            let items = IDMap(model.items.ids)
            let ndcg = Evaluation.rank(served, train: Evaluation.matrix(trainData, users: trainData.users, items: items, binary: false),
                                       test: Evaluation.matrix(testData, users: trainData.users, items: items, binary: true), k: 10).ndcg
            XCTAssertEqual(ndcg, model.metadata.evaluation["ndcg@10"]!, accuracy: 1e-9, "\(kind)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/snapshots").count, 4)
    }

    func testMissingDataFailsWithTheReadersMessage() {
        XCTAssertThrowsError(try TrainingPipeline(spec: try TrainingSpec(kind: .wals, values: [:], data: DataSource(path: directory + "/none.tsv")),
                                                  output: directory, reporter: ProgressReporter(mode: .none)).run()) {
            XCTAssertTrue("\($0)".contains("none.tsv"), "\($0)")
        }
    }
}

final class TrainingDataDislikeTests: XCTestCase {
    func testPositiveOnlyTrainersLoseDislikesAndPairsThatSumBelowZero() {
        var interactions = Interactions()
        interactions.append(user: "u", item: "a", weight: 1, timestamp: nil)
        interactions.append(user: "u", item: "b", weight: 1, timestamp: nil)
        interactions.append(user: "u", item: "b", weight: -2, timestamp: nil)  // b: 1 − 2 < 0
        interactions.append(user: "v", item: "c", weight: -1, timestamp: nil)
        interactions.append(user: "v", item: "a", weight: 2, timestamp: nil)
        let data = TrainingData(interactions)
        XCTAssertTrue(data.hasDislikes)
        let kept = data.withoutDislikes
        XCTAssertFalse(kept.hasDislikes)
        XCTAssertEqual(kept.interactions.count, 2)
        XCTAssertEqual(kept.itemIDs, data.itemIDs, "id spaces stay whole")
        XCTAssertEqual(interactions.itemCounts(), [2, 1, 0], "a dislike is not popularity")
    }
}
