import ArgumentParser
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing
import UnfoldSnapshot
import UnfoldTraining

/// `unfold evaluate`: held-out ranking metrics of a snapshot, computed through the code
/// that serves it (encode, retrieve, filter, the popularity fallback), beside a popularity
/// baseline.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a snapshot on held-out interactions (JSON on stdout).")

    enum EvaluationProtocol: String, ExpressibleByArgument, CaseIterable { case weak, strong }

    @Option(help: "Snapshot file.") var snapshot: String
    @Option(help: "weak: precision/recall/NDCG/MAP at k of the train users' held-out items; strong (Liang et al. 2018): users the model never trained on, --train their fold-in part, --test the rest, Recall@20, Recall@50 and NDCG@100.") var `protocol`: EvaluationProtocol = .weak
    @Option(help: "The training interactions (each test user's query is encoded from them).") var train: String
    @Option(help: "Held-out interactions.") var test: String
    @Option(help: "Cut-off k.") var k = 10
    @Flag(help: "strong: fold in each user's interactions as a history in time order (recency applies), not as a set (Liang et al.'s protocol draws the fold-in part at random).") var ordered = false
    @Option(help: "Threads (0: one per core).") var threads = 0
    @Option(name: .customLong("user-features"), help: "softmax: the users file with the features the model was trained with.") var userFeatures: String?
    @Option(help: "Planted groups (unfold generate --groups-out): adds the folding rate and excess.") var groups: String?
    @Option(help: "Also write every evaluated user's top-k list here, one JSON line per user: {\"user\": …, \"items\": […]}.") var lists: String?
    @Option(help: "A second snapshot (of the same items' ids where they overlap) to compare on the same users: the paired difference snapshot − compare with its 95% interval.") var compare: String?

    func run() throws {
        let file = try cliTry { try Snapshot.open(path: snapshot) }
        let served = ServedModel(name: file.model.metadata.name, model: file.model)
        let trainData = try cliTry { try InteractionReader().read(path: train) }.interactions
        let testData = try cliTry { try InteractionReader().read(path: test) }.interactions
        let itemSpace = IDMap(file.model.items.ids)
        // Strong: the fold-in part is a set unless --ordered.
        let trainMatrix = Evaluation.matrix(trainData, users: trainData.users, items: itemSpace, binary: false, ordered: `protocol` == .weak || ordered)
        let testMatrix = Evaluation.matrix(testData, users: trainData.users, items: itemSpace, binary: true)
        let workers = threads > 0 ? threads : defaultThreadCount
        // Each user's query features for a softmax tower (none without a users file).
        var features: [[String: FeatureValue]]?
        if case .tower(let tower) = file.model.encoder, let userFeatures {
            let usersFile = try cliTry { try UserFeatureFile.read(path: userFeatures) }
            let selection = tower.features.map { "\($0.name):\($0.kind.rawValue)" }.joined(separator: ",")
            features = try cliTry { try SoftmaxDNN.features(usersFile, path: userFeatures, selection: selection, users: trainData.users, dimensions: 1) }.values
        }
        let lists = Evaluation.Lists.served(features: features)
        if `protocol` == .strong {
            try strong(served, foldIn: trainMatrix, heldOut: testMatrix, trainData: trainData, testData: testData, lists: lists, workers: workers)
            return
        }
        let scored = Evaluation.perUser(served, train: trainMatrix, test: testMatrix, k: k, lists: lists, threads: workers)
        var metrics = Evaluation.rank(served, train: trainMatrix, test: testMatrix, k: k, lists: lists, threads: workers).dictionary
        // A 95% bootstrap interval over users for every per-user mean (coverage is one
        // number over all lists: none).
        var intervals: [String: [Double]] = [:]
        for (name, pick) in Self.perUserMetrics {
            let (low, high) = Bootstrap.interval(scored.users.map(pick))
            intervals["\(name)@\(k)"] = [low, high]
        }
        if let groups {
            let planted = try cliTry { try PlantedGroups.read(path: groups) }
            let userGroups = PlantedGroups.align(planted.users, to: trainData.users.ids)
            let itemGroups = PlantedGroups.align(planted.items, to: file.model.items.ids)
            metrics["folding@\(k)"] = Evaluation.foldingRate(served, train: trainMatrix, userGroups: userGroups, itemGroups: itemGroups, k: k, lists: lists, threads: workers)
            metrics["folding_excess"] = Evaluation.foldingExcess(served, train: trainMatrix, userGroups: userGroups, itemGroups: itemGroups, lists: lists, threads: workers)
        }
        let baseline = Evaluation.rank(served, train: trainMatrix, test: testMatrix, k: k, lists: .popularity, threads: workers)
        if let path = self.lists {
            let users = (0..<testMatrix.rows).filter { testMatrix.rowCount($0) > 0 }
            let top = Evaluation.topLists(served, train: trainMatrix, users: users, k: k, lists: lists, threads: workers)
            var text = ""
            for u in users {
                let line: [String: Any] = ["user": trainData.users[Int32(u)], "items": top[u].map { served.id($0) }]
                text += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self) + "\n"
            }
            do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch { throw ValidationError("cannot write \(path): \(error.localizedDescription)") }
        }
        var out: [String: Any] = ["snapshot": snapshot, "k": k, "model": metrics, "intervals": intervals, "popularity": baseline.dictionary,
                                  "bootstrap": ["resamples": Bootstrap.resamples, "level": 0.95]]
        if let compare {
            out["comparison"] = try comparison(scored.users, against: compare, trainData: trainData, testData: testData, workers: workers)
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }

    /// The strong-generalization report: Liang et al.'s metrics with intervals, the popularity
    /// baseline, and with --compare the paired difference.
    func strong(_ served: ServedModel, foldIn: CSRMatrix, heldOut: CSRMatrix, trainData: Interactions, testData: Interactions, lists: Evaluation.Lists, workers: Int) throws {
        let scored = StrongGeneralization.perUser(served, foldIn: foldIn, heldOut: heldOut, lists: lists, threads: workers)
        var intervals: [String: [Double]] = [:]
        for (name, pick) in StrongGeneralization.metrics {
            let (low, high) = Bootstrap.interval(scored.map(pick))
            intervals[name] = [low, high]
        }
        let popularity = StrongGeneralization.perUser(served, foldIn: foldIn, heldOut: heldOut, lists: .popularity, threads: workers)
        var out: [String: Any] = ["snapshot": snapshot, "protocol": "strong", "fold_in": ordered ? "history in time order" : "set", "model": StrongGeneralization.means(scored), "intervals": intervals,
                                  "popularity": StrongGeneralization.means(popularity), "bootstrap": ["resamples": Bootstrap.resamples, "level": 0.95]]
        if let compare {
            let other = try cliTry { try Snapshot.open(path: compare) }
            let otherServed = ServedModel(name: other.model.metadata.name, model: other.model)
            let itemSpace = IDMap(other.model.items.ids)
            let theirs = Dictionary(uniqueKeysWithValues: StrongGeneralization.perUser(
                otherServed, foldIn: Evaluation.matrix(trainData, users: trainData.users, items: itemSpace, binary: false, ordered: ordered),
                heldOut: Evaluation.matrix(testData, users: trainData.users, items: itemSpace, binary: true), threads: workers).map { ($0.user, $0) })
            let paired = scored.compactMap { m in theirs[m.user].map { (m, $0) } }
            var comparison: [String: Any] = ["snapshot": compare, "users": paired.count]
            for (name, pick) in StrongGeneralization.metrics {
                let d = Bootstrap.pairedDifference(paired.map { pick($0.0) }, paired.map { pick($0.1) })
                comparison[name] = ["difference": d.difference, "interval": [d.low, d.high]]
            }
            out["comparison"] = comparison
        }
        print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
    }

    static let perUserMetrics: [(String, @Sendable (Evaluation.UserMetrics) -> Double)] = [("precision", \.precision), ("recall", \.recall), ("ndcg", \.ndcg), ("map", \.ap)]

    /// The paired difference (this snapshot − the other) per metric over the same users, with
    /// its 95% bootstrap interval; users the other snapshot cannot evaluate are left out of both.
    func comparison(_ mine: [Evaluation.UserMetrics], against path: String, trainData: Interactions, testData: Interactions, workers: Int) throws -> [String: Any] {
        let other = try cliTry { try Snapshot.open(path: path) }
        let served = ServedModel(name: other.model.metadata.name, model: other.model)
        let itemSpace = IDMap(other.model.items.ids)
        let trainMatrix = Evaluation.matrix(trainData, users: trainData.users, items: itemSpace, binary: false)
        let testMatrix = Evaluation.matrix(testData, users: trainData.users, items: itemSpace, binary: true)
        let theirs = Dictionary(uniqueKeysWithValues: Evaluation.perUser(served, train: trainMatrix, test: testMatrix, k: k, threads: workers).users.map { ($0.user, $0) })
        let paired = mine.compactMap { m in theirs[m.user].map { (m, $0) } }
        var out: [String: Any] = ["snapshot": path, "users": paired.count]
        for (name, pick) in Self.perUserMetrics {
            let d = Bootstrap.pairedDifference(paired.map { pick($0.0) }, paired.map { pick($0.1) })
            out["\(name)@\(k)"] = ["difference": d.difference, "interval": [d.low, d.high]]
        }
        return out
    }
}
