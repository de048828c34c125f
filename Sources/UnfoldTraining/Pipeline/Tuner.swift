import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing

/// Hyperparameter search by successive halving over quasi-random configurations.
///
/// The training data is split once more (per user the latest `validation_fraction` by time,
/// else at random): trials train on the rest and are scored by NDCG@k of the served encoder
/// on the held-out part, so the test data, if any, is never seen. Configuration 0 is the
/// spec as asked (defaults and flags); the others are points of the kind's `SearchSpace`.
/// Round 0 trains every configuration for R/η² epochs (R the spec's epochs or iterations,
/// η = 3), each round keeps the best third for η times the epochs, the last trains for R. Each
/// trial uses every thread. Without a fixed number of configurations, the first trial's time
/// sets how many fit the budget; a budget that runs out ends the search early with the best
/// configuration of the highest round reached.
struct Tuner {
    let spec: TrainingSpec
    let request: TuningRequest
    let threads: Int
    let reporter: ProgressReporter
    /// How the pipeline carves a hold-out (the same split as `--holdout`).
    let carve: (TrainingData, Double) throws -> (TrainingData, CSRMatrix)
    var clock: () -> Double = { Date().timeIntervalSinceReferenceDate }

    static let eta = 3

    /// The best configuration's spec (tune cleared) and the record of the search.
    func run(_ data: TrainingData) throws -> (spec: TrainingSpec, record: TuningRecord) {
        guard let space = SearchSpace.of(spec.kind) else { throw TrainingError("model kind '\(spec.kind.name)' has no search space to tune") }
        let started = clock()
        let (train, validation) = try carve(data, request.validationFraction)
        let base = spec.values
        guard case .number(let full)? = base[space.resource], full >= 1 else { throw TrainingError("tuning needs the '\(space.resource)' parameter") }
        let maxEpochs = Int(full)
        let rounds = max(1, min(3, Int((log(Double(maxEpochs)) / log(Double(Self.eta))).rounded(.down)) + 1))
        func epochs(round: Int) -> Int { max(1, Int((Double(maxEpochs) / pow(Double(Self.eta), Double(rounds - 1 - round))).rounded())) }
        let k = spec.common.k
        reporter.phase(.tune, detail: "\(spec.kind.name): validation \(validation.nonZeroCount) of \(data.interactions.count) interactions, budget \(Int(request.budgetSeconds)) s, \(rounds) rounds of \(epochs(round: 0))…\(maxEpochs) \(space.resource)")

        var trials: [TuningTrial] = []
        var configurations: [[String: ParameterValue]] = [[:]]
        func configuration(_ index: Int) -> [String: ParameterValue] {
            while configurations.count <= index { configurations.append(space.point(configurations.count, seed: UInt64(spec.common.seed))) }
            return configurations[index]
        }
        func trial(_ index: Int, round: Int) throws -> TuningTrial {
            var values = base.merging(configuration(index)) { $1 }
            values[space.resource] = .number(Double(epochs(round: round)))
            var trialSpec = try TrainingSpec(kind: spec.kind, name: spec.name, values: values, data: spec.data)
            trialSpec.tune = nil
            let trainer = try trialSpec.makeTrainer()
            let begin = clock()
            let trained = try trainer.train(train, TrainingContext(threads: threads, seed: UInt64(spec.common.seed)))
            let served = ServedModel(name: spec.name, model: trained.model(train, kind: spec.kind))
            let score = Evaluation.rank(served, train: train.matrix, test: validation, k: k, lists: .served(features: trained.userFeatures), threads: threads).ndcg
            // The values as the parameter table stores them (Float λ, whole factors), so the
            // record and the recipe agree.
            let typed = trialSpec.values.filter { configuration(index)[$0.key] != nil }
            let result = TuningTrial(configuration: index, round: round, parameters: typed,
                                     epochs: epochs(round: round), validation: score.isFinite ? score : 0, seconds: clock() - begin)
            reporter.trial(result, metric: "ndcg@\(k)")
            return result
        }

        // Round 0: configuration 0 first; its time sizes the round when no count is given.
        let first = try trial(0, round: 0)
        trials.append(first)
        let count: Int
        if let fixed = request.trials {
            count = fixed
        } else {
            // Each round costs about what round 0 does (a third of the configurations, 3× the
            // epochs); configurations differ in cost (factors, widths), so plan for 1.5× the first.
            let perRound = request.budgetSeconds / Double(rounds)
            count = max(Self.eta, min(500, Int(perRound / max(1.5 * first.seconds, 1e-3))))
        }
        var alive = Array(0..<count)
        var completed = true
        var lastRound = [first]
        roundLoop: for round in 0..<rounds {
            var results: [TuningTrial] = round == 0 ? [first] : []
            for index in alive where !(round == 0 && index == 0) {
                if clock() - started > request.budgetSeconds {
                    completed = false
                    if !results.isEmpty { lastRound = results }
                    break roundLoop
                }
                let result = try trial(index, round: round)
                trials.append(result)
                results.append(result)
            }
            lastRound = results
            let keep = max(1, Int((Double(results.count) / Double(Self.eta)).rounded(.up)))
            alive = results.sorted { $0.validation > $1.validation || ($0.validation == $1.validation && $0.configuration < $1.configuration) }
                .prefix(keep).map(\.configuration)
        }
        let best = lastRound.max { $0.validation < $1.validation || ($0.validation == $1.validation && $0.configuration > $1.configuration) } ?? first
        var chosen = try TrainingSpec(kind: spec.kind, name: spec.name, values: base.merging(configuration(best.configuration)) { $1 }, data: spec.data)
        chosen.tune = nil
        let record = TuningRecord(metric: "ndcg@\(k)", budgetSeconds: request.budgetSeconds, searchSeconds: clock() - started,
                                  validationInteractions: validation.nonZeroCount, trials: trials, chosen: best.configuration,
                                  chosenParameters: chosen.values.filter { configuration(best.configuration)[$0.key] != nil },
                                  chosenValidation: best.validation, completed: completed)
        reporter.note(String(format: "tune: %d trials in %.1f s%@; chose configuration %d (validation ndcg@%d %.4f at %d %@)", trials.count, record.searchSeconds,
                             completed ? "" : " (budget spent before the last round)", best.configuration, k, best.validation, best.epochs, space.resource))
        return (chosen, record)
    }
}
