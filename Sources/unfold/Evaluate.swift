import ArgumentParser
import Foundation
import UnfoldData
import UnfoldMath
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

    func run() throws {
        let model = try cliTry { try Snapshot.open(path: snapshot) }
        let trainData = try cliTry { try InteractionReader().read(path: train) }.interactions
        let testData = try cliTry { try InteractionReader().read(path: test) }.interactions
        let itemSpace = IDMap(model.itemIDs)
        let trainMatrix = Evaluation.matrix(trainData, users: trainData.users, items: itemSpace, binary: false)
        let testMatrix = Evaluation.matrix(testData, users: trainData.users, items: itemSpace, binary: true)
        let workers = threads > 0 ? threads : defaultThreadCount
        let items = model.itemMatrix()
        // Fold-in for matrix factorization; the weighted mean of item vectors for item2vec.
        let metrics = Evaluation.rank(train: trainMatrix, test: testMatrix, k: k, threads: workers) {
            Evaluation.servingScorer(items: items, foldIn: model.foldIn, train: trainMatrix)
        }
        let baseline = Evaluation.popularity(train: trainMatrix, test: testMatrix, k: k)
        let out: [String: Any] = ["snapshot": snapshot, "k": k, "model": metrics.dictionary, "popularity": baseline.dictionary]
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }
}
