/// Draws index i with probability w_i / Σw in O(1) per draw (Vose's alias method): a table
/// of n columns, each holding one index with probability `probability[c]` and its `alias`
/// otherwise.
public struct AliasSampler: Sendable {
    public let probability: [Float]
    public let alias: [Int32]

    public init(weights: [Double]) {
        let n = weights.count
        precondition(n > 0, "an alias table needs at least one weight")
        let total = weights.reduce(0, +)
        precondition(total > 0, "weights must not all be zero")
        var scaled = weights.map { $0 * Double(n) / total }
        var probability = [Float](repeating: 0, count: n)
        var alias = [Int32](repeating: 0, count: n)
        var small: [Int] = [], large: [Int] = []
        for (i, p) in scaled.enumerated() { if p < 1 { small.append(i) } else { large.append(i) } }
        while let s = small.popLast(), let l = large.last {
            probability[s] = Float(scaled[s])
            alias[s] = Int32(l)
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 {
                large.removeLast()
                small.append(l)
            }
        }
        for i in large + small { probability[i] = 1; alias[i] = Int32(i) }
        self.probability = probability
        self.alias = alias
    }

    public var count: Int { probability.count }

    @inlinable
    public func sample(_ rng: inout SplitMix64) -> Int {
        let column = rng.nextInt(below: probability.count)
        return rng.nextFloat() < probability[column] ? column : Int(alias[column])
    }
}
