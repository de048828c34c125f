import Dispatch
import UnfoldMath

/// A seeded synthetic implicit-feedback data set with planted groups.
///
/// Every user and item belongs to one of `groups` groups (user u to u mod G, item i to
/// i mod G). Each interaction picks a user uniformly; with probability `inGroupProbability`
/// the item comes from the user's own group, else from the whole catalogue. Within a pool,
/// item popularity follows a power law: the item of popularity rank r (a seeded shuffle of
/// the pool) is drawn with weight 1 / (r + 1)^popularityExponent. Timestamps increase
/// with the interaction's position. The groups are the ground truth for folding.
public struct SyntheticGenerator: Sendable {
    public var users: Int
    public var items: Int
    public var interactions: Int
    public var groups: Int
    public var inGroupProbability: Double
    public var popularityExponent: Double
    public var seed: UInt64

    public init(users: Int, items: Int, interactions: Int, groups: Int = 1, inGroupProbability: Double = 0.95, popularityExponent: Double = 0.8, seed: UInt64 = 1) {
        self.users = users
        self.items = items
        self.interactions = interactions
        self.groups = groups
        self.inGroupProbability = inGroupProbability
        self.popularityExponent = popularityExponent
        self.seed = seed
    }

    public struct Output: Sendable {
        public var interactions: Interactions
        public var userGroups: [Int32]
        public var itemGroups: [Int32]
    }

    public func validate() throws(DataError) {
        guard users > 0, items > 0, interactions > 0 else { throw .invalidArgument("users, items and interactions must be positive") }
        guard groups >= 1, groups <= items, groups <= users else { throw .invalidArgument("groups must be between 1 and min(users, items)") }
        guard (0...1).contains(inGroupProbability) else { throw .invalidArgument("in-group probability must be within 0...1") }
        guard popularityExponent >= 0 else { throw .invalidArgument("popularity exponent must be non-negative") }
    }

    /// Cumulative popularity weights of a pool of items, for inverse-CDF sampling.
    struct Pool {
        var items: [Int32]
        var cumulative: [Double]

        func draw(_ rng: inout SplitMix64) -> Int32 {
            let target = rng.nextDouble() * cumulative[cumulative.count - 1]
            var lo = 0, hi = cumulative.count - 1
            while lo < hi {
                let mid = (lo + hi) / 2
                if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
            }
            return items[lo]
        }
    }

    func makePool(_ members: [Int32], rng: inout SplitMix64) -> Pool {
        var shuffled = members
        shuffled.shuffle(using: &rng)
        var total = 0.0
        let cumulative = shuffled.indices.map { rank -> Double in
            total += 1 / pow(Double(rank + 1), popularityExponent)
            return total
        }
        return Pool(items: shuffled, cumulative: cumulative)
    }

    public func generate() throws(DataError) -> Output {
        try validate()
        var rng = SplitMix64(seed: seed)
        let itemGroups = (0..<items).map { Int32($0 % groups) }
        let userGroups = (0..<users).map { Int32($0 % groups) }
        let groupPools = (0..<groups).map { g in makePool(Array(stride(from: Int32(g), to: Int32(items), by: groups)), rng: &rng) }
        let globalPool = makePool((0..<Int32(items)).map { $0 }, rng: &rng)

        // A fixed number of chunks (not threads) keeps the output identical on any machine.
        let chunks = 16
        var userIndex = [Int32](repeating: 0, count: interactions)
        var itemIndex = [Int32](repeating: 0, count: interactions)
        userIndex.withUnsafeMutableBufferPointer { userBuffer in
            itemIndex.withUnsafeMutableBufferPointer { itemBuffer in
                // Safe to share: chunk c writes only elements start..<end of its own range,
                // the ranges are disjoint, and concurrentPerform returns after every chunk.
                nonisolated(unsafe) let up = userBuffer
                nonisolated(unsafe) let ip = itemBuffer
                DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                    var local = SplitMix64(seed: seed &+ 0x9E37_79B9 &* UInt64(chunk + 1))
                    let start = chunk * interactions / chunks, end = (chunk + 1) * interactions / chunks
                    for k in start..<end {
                        let u = local.nextInt(below: users)
                        up[k] = Int32(u)
                        ip[k] = local.nextDouble() < inGroupProbability
                            ? groupPools[u % groups].draw(&local)
                            : globalPool.draw(&local)
                    }
                }
            }
        }
        var data = Interactions(users: IDMap((0..<users).map { "u\($0)" }), items: IDMap((0..<items).map { "i\($0)" }), hasTimestamps: true)
        data.userIndex = userIndex
        data.itemIndex = itemIndex
        data.weights = [Float](repeating: 1, count: interactions)
        data.timestamps = (0..<interactions).map { 1_600_000_000 + Double($0) }
        return Output(interactions: data, userGroups: userGroups, itemGroups: itemGroups)
    }

    /// `kind id group` lines: the ground truth a folding evaluation reads.
    public static func groupsTSV(_ output: Output) -> [UInt8] {
        var out = Array("kind\tid\tgroup\n".utf8)
        for (u, g) in output.userGroups.enumerated() { out += Array("user\t\(output.interactions.users.ids[u])\t\(g)\n".utf8) }
        for (i, g) in output.itemGroups.enumerated() { out += Array("item\t\(output.interactions.items.ids[i])\t\(g)\n".utf8) }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif
