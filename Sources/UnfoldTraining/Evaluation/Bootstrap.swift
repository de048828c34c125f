import UnfoldMath

/// Percentile bootstrap over users: how far a mean over these users could move with
/// another draw of users of the same size (Efron & Tibshirani 1993, ch. 13).
public enum Bootstrap {
    public static let resamples = 1000

    /// The 95% interval of the mean of `values` (resampled with replacement, seeded).
    public static func interval(_ values: [Double], resamples: Int = resamples, seed: UInt64 = 7) -> (low: Double, high: Double) {
        guard !values.isEmpty else { return (0, 0) }
        var rng = SplitMix64(seed: seed)
        var means = [Double]()
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var sum = 0.0
            for _ in 0..<values.count { sum += values[Int(rng.next() % UInt64(values.count))] }
            means.append(sum / Double(values.count))
        }
        means.sort()
        return (means[Int(0.025 * Double(resamples - 1))], means[Int((0.975 * Double(resamples - 1)).rounded(.up))])
    }

    /// The mean paired difference a − b over the same users, with its 95% interval (the users
    /// resampled together, so what both models find hard cancels out).
    public static func pairedDifference(_ a: [Double], _ b: [Double], resamples: Int = resamples, seed: UInt64 = 7) -> (difference: Double, low: Double, high: Double) {
        precondition(a.count == b.count, "paired values come in pairs")
        let differences = zip(a, b).map { $0 - $1 }
        let (low, high) = interval(differences, resamples: resamples, seed: seed)
        return (differences.reduce(0, +) / Double(max(differences.count, 1)), low, high)
    }
}
