import UnfoldMath

/// How to hold out test interactions. Both halves keep the full id maps, so an index
/// means the same user or item in train and test.
public enum SplitMethod: Sendable, Equatable {
    /// Each interaction goes to test with probability `testFraction`.
    case random(testFraction: Double, seed: UInt64)
    /// Per user, the latest ⌊`testFraction` · n⌋ of their n interactions by timestamp, at least
    /// one (and at least one stays in train).
    case temporal(testFraction: Double)
    /// Per user with more than k interactions, the last k by timestamp (random k without timestamps).
    case leaveKOut(k: Int, seed: UInt64)
    /// Whole users: a seeded random `testFraction` of the users with all their interactions
    /// (the held-out users of the strong-generalization protocol).
    case users(testFraction: Double, seed: UInt64)
    /// Per user, a seeded random ⌊`testFraction` · n⌋ of their n interactions, at least one
    /// (and at least one kept): the fold-in / scored halves of a held-out user.
    case randomPerUser(testFraction: Double, seed: UInt64)
}

public enum Splitter {
    public static func split(_ data: Interactions, _ method: SplitMethod) throws(DataError) -> (train: Interactions, test: Interactions) {
        var train = Interactions(users: data.users, items: data.items, hasTimestamps: data.timestamps != nil)
        var test = train
        func copy(_ k: Int, into target: inout Interactions) {
            target.append(userIndex: data.userIndex[k], itemIndex: data.itemIndex[k], weight: data.weights[k], timestamp: data.timestamps?[k])
        }
        switch method {
        case .random(let fraction, let seed):
            guard fraction > 0 && fraction < 1 else { throw .invalidArgument("test fraction must be between 0 and 1, got \(fraction)") }
            var rng = SplitMix64(seed: seed)
            for k in 0..<data.count {
                if rng.nextDouble() < fraction { copy(k, into: &test) } else { copy(k, into: &train) }
            }
        case .temporal(let fraction):
            guard fraction > 0 && fraction < 1 else { throw .invalidArgument("test fraction must be between 0 and 1, got \(fraction)") }
            guard data.timestamps != nil else { throw .invalidArgument("a temporal split needs timestamps; the data has none") }
            for (_, rows) in byUser(data, seed: nil) {
                let held = Self.heldCount(rows.count, fraction)
                for (position, k) in rows.enumerated() {
                    if position >= rows.count - held { copy(k, into: &test) } else { copy(k, into: &train) }
                }
            }
        case .users(let fraction, let seed):
            guard fraction > 0 && fraction < 1 else { throw .invalidArgument("test fraction must be between 0 and 1, got \(fraction)") }
            var present = [Bool](repeating: false, count: data.users.count)
            for k in 0..<data.count { present[Int(data.userIndex[k])] = true }
            var users = (0..<data.users.count).filter { present[$0] }
            var rng = SplitMix64(seed: seed)
            users.shuffle(using: &rng)
            // At least one user on each side (when there are two).
            let count = users.count < 2 ? 0 : min(users.count - 1, max(1, Int((Double(users.count) * fraction).rounded())))
            let held = Set(users.prefix(count))
            for k in 0..<data.count {
                if held.contains(Int(data.userIndex[k])) { copy(k, into: &test) } else { copy(k, into: &train) }
            }
        case .randomPerUser(let fraction, let seed):
            guard fraction > 0 && fraction < 1 else { throw .invalidArgument("test fraction must be between 0 and 1, got \(fraction)") }
            for (_, rows) in byUser(data, seed: seed) {
                let held = Self.heldCount(rows.count, fraction)
                for (position, k) in rows.enumerated() {
                    if position < held { copy(k, into: &test) } else { copy(k, into: &train) }
                }
            }
        case .leaveKOut(let k, let seed):
            guard k >= 1 else { throw .invalidArgument("leave-k-out needs k >= 1, got \(k)") }
            for (_, rows) in byUser(data, seed: data.timestamps == nil ? seed : nil) {
                let held = rows.count > k ? k : 0
                for (position, row) in rows.enumerated() {
                    if position >= rows.count - held { copy(row, into: &test) } else { copy(row, into: &train) }
                }
            }
        }
        return (train, test)
    }

    /// ⌊fraction · n⌋ of a user's n interactions held out, at least one, and at least one kept.
    static func heldCount(_ n: Int, _ fraction: Double) -> Int {
        min(n - 1, max(1, Int((Double(n) * fraction).rounded(.down))))
    }

    /// Each user's interaction positions, oldest first (by timestamp, then file order), or
    /// shuffled with `seed` when given. Users in index order, so the split is deterministic.
    static func byUser(_ data: Interactions, seed: UInt64?) -> [(Int32, [Int])] {
        var rows = [[Int]](repeating: [], count: data.users.count)
        for k in 0..<data.count { rows[Int(data.userIndex[k])].append(k) }
        var rng = SplitMix64(seed: seed ?? 0)
        return rows.enumerated().compactMap { user, positions in
            guard !positions.isEmpty else { return nil }
            var ordered = positions
            if let timestamps = data.timestamps, seed == nil {
                ordered.sort { timestamps[$0] < timestamps[$1] || (timestamps[$0] == timestamps[$1] && $0 < $1) }
            } else if seed != nil {
                ordered.shuffle(using: &rng)
            }
            return (Int32(user), ordered)
        }
    }
}
