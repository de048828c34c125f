import Foundation
import UnfoldData
import UnfoldMath

/// Where negatives come from. Every sampler excludes the user's positives (by rejection,
/// up to `maxTries` draws).
public enum NegativeSampling: Sendable, Equatable {
    /// No negatives at all: the positives-only mode that shows folding.
    case none
    /// Every item equally likely.
    case uniform
    /// Item i with probability ∝ count_i^β (word2vec's unigram^0.75 for β = 0.75).
    case popularity(beta: Double)
    /// `candidates` uniform candidates, one drawn with probability ∝ exp(score / temperature):
    /// the higher the current model scores it, the likelier.
    case hard(candidates: Int, temperature: Float)
    /// The positives of the other examples in the same mini-batch (Yi et al. 2019): items
    /// arrive with probability ∝ their count, so log q(i) = log(count_i / N).
    case inBatch
}

public struct NegativeSampler: Sendable {
    public let kind: NegativeSampling
    public let itemCount: Int
    let alias: AliasSampler?
    /// log q(i), the log probability of drawing i before exclusion (for the logQ correction).
    public let logQ: [Float]
    static let maxTries = 32

    public init(_ kind: NegativeSampling, itemCounts: [Float]) {
        self.kind = kind
        self.itemCount = itemCounts.count
        if kind == .inBatch {
            let total = Double(max(itemCounts.reduce(0, +), 1))
            alias = nil
            logQ = itemCounts.map { Float(log(Double(max($0, 1e-3)) / total)) }
        } else if case .popularity(let beta) = kind {
            let weights = itemCounts.map { pow(Double(max($0, 0)), beta) + 1e-12 }
            let total = weights.reduce(0, +)
            alias = AliasSampler(weights: weights)
            logQ = weights.map { Float(log($0 / total)) }
        } else {
            alias = nil
            logQ = [Float](repeating: -logf(Float(max(itemCounts.count, 1))), count: itemCounts.count)
        }
    }

    /// One negative for a user whose positives are `positives` (sorted), or nil for `.none`.
    /// `score(i)` is the current model's score, used by hard negatives only; `batch` holds
    /// the items of the current mini-batch, used by in-batch negatives only (nil when every
    /// batch item is a positive of this user).
    public func sample(positives: ArraySlice<Int32>, rng: inout SplitMix64, batch: UnsafeBufferPointer<Int32> = UnsafeBufferPointer(start: nil, count: 0), score: (Int) -> Float) -> Int? {
        switch kind {
        case .none:
            return nil
        case .inBatch:
            guard batch.count > 0 else { return nil }
            for _ in 0..<Self.maxTries {
                let candidate = batch[rng.nextInt(below: batch.count)]
                if !Self.contains(positives, candidate) { return Int(candidate) }
            }
            return nil
        case .uniform:
            return draw(positives, &rng) { $0.nextInt(below: itemCount) }
        case .popularity:
            return draw(positives, &rng) { alias!.sample(&$0) }
        case .hard(let candidates, let temperature):
            var pool: [(Int, Float)] = []
            for _ in 0..<max(candidates, 1) {
                let c = draw(positives, &rng) { $0.nextInt(below: itemCount) }
                pool.append((c, score(c) / temperature))
            }
            let m = pool.map(\.1).max()!
            let weights = pool.map { expf($0.1 - m) }
            var target = rng.nextFloat() * weights.reduce(0, +)
            for (k, w) in weights.enumerated() {
                target -= w
                if target <= 0 { return pool[k].0 }
            }
            return pool.last!.0
        }
    }

    private func draw(_ positives: ArraySlice<Int32>, _ rng: inout SplitMix64, _ next: (inout SplitMix64) -> Int) -> Int {
        var candidate = next(&rng)
        var tries = 1
        while tries < Self.maxTries && Self.contains(positives, Int32(candidate)) {
            candidate = next(&rng)
            tries += 1
        }
        return candidate
    }

    static func contains(_ sorted: ArraySlice<Int32>, _ value: Int32) -> Bool {
        var lo = sorted.startIndex, hi = sorted.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        return lo < sorted.endIndex && sorted[lo] == value
    }
}
