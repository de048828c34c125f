import Foundation
import UnfoldMath

/// What `unfold train --tune` (and `"tune"` in `POST /admin/retrain`) asks for: search the
/// model kind's hyperparameters on a validation split carved from the training data, within
/// a time budget, then train the best configuration on all of it.
public struct TuningRequest: Sendable, Codable, Equatable {
    /// Seconds the search may take (the final training on all the data comes after it).
    public var budgetSeconds: Double
    /// Configurations in the first round. Fixed, the search is deterministic for a seed (up to
    /// the budget cutting it short); nil: as many as the budget allows, from the first
    /// trial's time.
    public var trials: Int?
    /// Share of each user's interactions held out for validation (the latest by time, else at random).
    public var validationFraction: Double

    public static let defaultBudgetSeconds = 600.0
    public static let budgetRange = 1.0...(7 * 86_400.0)
    public static let trialsRange = 1...10_000

    public init(budgetSeconds: Double = defaultBudgetSeconds, trials: Int? = nil, validationFraction: Double = 0.2) {
        self.budgetSeconds = budgetSeconds
        self.trials = trials
        self.validationFraction = validationFraction
    }

    enum CodingKeys: String, CodingKey {
        case budgetSeconds = "budget_seconds", trials, validationFraction = "validation_fraction"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(budgetSeconds: try c.decodeIfPresent(Double.self, forKey: .budgetSeconds) ?? Self.defaultBudgetSeconds,
                  trials: try c.decodeIfPresent(Int.self, forKey: .trials),
                  validationFraction: try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? 0.2)
    }

    /// The ranges above, each failure naming its field.
    public func validate() throws(ParameterError) {
        guard Self.budgetRange.contains(budgetSeconds) else {
            throw ParameterError("tune budget_seconds must be within \(Self.budgetRange.lowerBound)...\(Self.budgetRange.upperBound), got \(budgetSeconds)")
        }
        if let trials, !Self.trialsRange.contains(trials) {
            throw ParameterError("tune trials must be within \(Self.trialsRange.lowerBound)...\(Self.trialsRange.upperBound), got \(trials)")
        }
        guard DataSource.holdoutRange.contains(validationFraction) else {
            throw ParameterError("tune validation_fraction must be within \(DataSource.holdoutRange.lowerBound)...\(DataSource.holdoutRange.upperBound), got \(validationFraction)")
        }
    }

    /// A duration as `--tune-budget` takes it: seconds, or a number with s, m or h (`90s`, `10m`, `1.5h`).
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        if let last = text.last, let unit = units[last] { return Double(text.dropLast()).map { $0 * unit } }
        return Double(text)
    }
}

/// One training run of the search: which configuration, how long it trained, what it scored.
public struct TuningTrial: Sendable, Codable, Equatable {
    /// The configuration's number (0 is the configuration asked for, i.e. the defaults and flags).
    public var configuration: Int
    /// The round of successive halving (0 first; each keeps the best third for 3× the epochs).
    public var round: Int
    public var parameters: [String: ParameterValue]
    /// Epochs (alternating iterations for WALS) this run trained.
    public var epochs: Int
    /// NDCG@k on the validation split, through the served encoder.
    public var validation: Double
    public var seconds: Double

    public init(configuration: Int, round: Int, parameters: [String: ParameterValue], epochs: Int, validation: Double, seconds: Double) {
        self.configuration = configuration
        self.round = round
        self.parameters = parameters
        self.epochs = epochs
        self.validation = validation
        self.seconds = seconds
    }
}

/// The search as it went: every trial, the configuration chosen and why the search ended.
public struct TuningRecord: Sendable, Codable, Equatable {
    public var metric: String
    public var budgetSeconds: Double
    public var searchSeconds: Double
    public var validationInteractions: Int
    public var trials: [TuningTrial]
    /// The configuration trained on all the data, and its best validation score.
    public var chosen: Int
    public var chosenParameters: [String: ParameterValue]
    public var chosenValidation: Double
    /// False when the budget ran out before the last round.
    public var completed: Bool

    public init(metric: String, budgetSeconds: Double, searchSeconds: Double, validationInteractions: Int, trials: [TuningTrial],
                chosen: Int, chosenParameters: [String: ParameterValue], chosenValidation: Double, completed: Bool) {
        self.metric = metric
        self.budgetSeconds = budgetSeconds
        self.searchSeconds = searchSeconds
        self.validationInteractions = validationInteractions
        self.trials = trials
        self.chosen = chosen
        self.chosenParameters = chosenParameters
        self.chosenValidation = chosenValidation
        self.completed = completed
    }

    enum CodingKeys: String, CodingKey {
        case metric, trials, chosen, completed
        case budgetSeconds = "budget_seconds", searchSeconds = "search_seconds", validationInteractions = "validation_interactions"
        case chosenParameters = "chosen_parameters", chosenValidation = "chosen_validation"
    }
}

/// Where each model kind's search looks: the parameter that is the budget of a trial (epochs
/// or iterations) and the dimensions, each mapping a point u ∈ [0, 1) to a value.
public struct SearchSpace: Sendable {
    public struct Dimension: Sendable {
        public var name: String
        public var value: @Sendable (Double) -> ParameterValue
    }

    public var resource: String
    public var dimensions: [Dimension]

    /// lo·(hi/lo)^u.
    static func logUniform(_ name: String, _ lo: Double, _ hi: Double) -> Dimension {
        Dimension(name: name) { u in .number(lo * pow(hi / lo, u)) }
    }

    static func choice(_ name: String, _ values: [ParameterValue]) -> Dimension {
        Dimension(name: name) { u in values[min(values.count - 1, Int(u * Double(values.count)))] }
    }

    /// The ranges searched per kind (docs/algorithms.md, "Tuning"); nil for a kind without one.
    public static func of(_ kind: ModelKind) -> SearchSpace? {
        switch kind.name {
        case "wals":
            return SearchSpace(resource: "iterations", dimensions: [
                logUniform("regularization", 0.02, 2),
                logUniform("unobserved_weight", 0.3, 30),
                logUniform("alpha", 0.01, 3),
                logUniform("recency_boost", 1, 128),
                logUniform("recency_half_life", 1, 8),
                choice("factors", [.number(32), .number(64), .number(128)]),
            ])
        case "softmax":
            return SearchSpace(resource: "epochs", dimensions: [
                logUniform("learning_rate", 0.0005, 0.01),
                logUniform("regularization", 0.0001, 0.01),
                choice("negatives", [.number(50), .number(100), .number(200)]),
                choice("batch_size", [.number(32), .number(64), .number(128)]),
                choice("hidden", [.string("64"), .string("128"), .string("256")]),
            ])
        case "mf-sgd":
            return SearchSpace(resource: "epochs", dimensions: [
                logUniform("learning_rate", 0.005, 0.2),
                logUniform("regularization", 0.00001, 0.01),
                choice("factors", [.number(32), .number(64), .number(128)]),
            ])
        case "item2vec":
            return SearchSpace(resource: "epochs", dimensions: [
                logUniform("learning_rate", 0.005, 0.1),
                choice("window", [.number(2), .number(3), .number(5), .number(10)]),
                choice("negatives", [.number(3), .number(5), .number(10), .number(20)]),
            ])
        default:
            return nil
        }
    }

    /// Configuration `index` ≥ 1 of a seeded quasi-random sequence: the Halton point of that
    /// index (one prime base per dimension), shifted by a seeded offset modulo 1 (a
    /// Cranley–Patterson rotation), so the points fill the space evenly and differ per seed.
    public func point(_ index: Int, seed: UInt64) -> [String: ParameterValue] {
        let primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]
        // One SplitMix64 draw per dimension for its shift.
        var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15)
        var out: [String: ParameterValue] = [:]
        for (d, dimension) in dimensions.enumerated() {
            var u = Self.halton(index, base: primes[d % primes.count]) + rng.nextDouble()
            u -= u.rounded(.down)
            out[dimension.name] = dimension.value(u)
        }
        return out
    }

    static func halton(_ index: Int, base: Int) -> Double {
        var f = 1.0, r = 0.0, i = index
        while i > 0 {
            f /= Double(base)
            r += f * Double(i % base)
            i /= base
        }
        return r
    }
}
