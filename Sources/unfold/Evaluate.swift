import ArgumentParser
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot
import UnfoldTraining

/// `unfold evaluate`: held-out ranking metrics of a snapshot, computed through the same
/// fold-in and scan the server uses, beside a popularity baseline.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a snapshot on held-out interactions (JSON on stdout).")

    @Option(help: "Snapshot file.") var snapshot: String
    @Option(help: "The training interactions (each test user's query is folded in from them).") var train: String
    @Option(help: "Held-out interactions.") var test: String
    @Option(help: "Cut-off k.") var k = 10
    @Option(help: "Threads (0: one per core).") var threads = 0
    @Option(name: .customLong("user-features"), help: "softmax: the users file with the features the model was trained with.") var userFeatures: String?
    @Option(help: "Planted groups (unfold generate --groups-out): adds the folding rate and excess.") var groups: String?

    func run() throws {
        let model = try cliTry { try Snapshot.open(path: snapshot) }
        let trainData = try cliTry { try InteractionReader().read(path: train) }.interactions
        let testData = try cliTry { try InteractionReader().read(path: test) }.interactions
        let itemSpace = IDMap(model.itemIDs)
        let trainMatrix = Evaluation.matrix(trainData, users: trainData.users, items: itemSpace, binary: false)
        let testMatrix = Evaluation.matrix(testData, users: trainData.users, items: itemSpace, binary: true)
        let workers = threads > 0 ? threads : defaultThreadCount
        let items = model.itemMatrix()
        // Each user's feature vector for a softmax tower (defaults without a users file).
        var features: [[Float]] = []
        if let tower = model.tower {
            var values = [[String: FeatureValue]](repeating: [:], count: trainData.users.count)
            if let userFeatures {
                let file = try cliTry { try UserFeatureFile.read(path: userFeatures) }
                let selection = tower.features.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: ",")
                values = try cliTry { try SoftmaxDNN.features(file, path: userFeatures, selection: selection, users: trainData.users, dimensions: 1) }.values
            }
            features = values.map { (try? tower.featureVector($0)) ?? [] }
        }
        // The server's encoder: fold-in, the tower's forward pass, or the mean of item vectors.
        let makeScorer = { Evaluation.servingScorer(items: items, foldIn: model.foldIn, train: trainMatrix, tower: model.tower, features: features) }
        var metrics = Evaluation.rank(train: trainMatrix, test: testMatrix, k: k, threads: workers, makeScorer: makeScorer).dictionary
        if let groups {
            let planted = try cliTry { try PlantedGroups.read(path: groups) }
            let userGroups = PlantedGroups.align(planted.users, to: trainData.users.ids)
            let itemGroups = PlantedGroups.align(planted.items, to: model.itemIDs)
            metrics["folding@\(k)"] = Evaluation.foldingRate(train: trainMatrix, userGroups: userGroups, itemGroups: itemGroups, k: k, threads: workers, makeScorer: makeScorer)
            metrics["folding_excess"] = Evaluation.foldingExcess(train: trainMatrix, userGroups: userGroups, itemGroups: itemGroups, threads: workers, makeScorer: makeScorer)
        }
        let baseline = Evaluation.popularity(train: trainMatrix, test: testMatrix, k: k)
        let out: [String: Any] = ["snapshot": snapshot, "k": k, "model": metrics, "popularity": baseline.dictionary]
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }
}
