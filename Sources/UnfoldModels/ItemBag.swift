/// The items a query is encoded from: rows of a model's item table with their weights,
/// each item once (a repeat adds its weight to the first, as training sums repeated
/// interactions), in first-seen order, with when each was last seen (for recency).
public struct ItemBag: Sendable, Equatable {
    public private(set) var indices: [Int32] = []
    public private(set) var weights: [Float] = []
    /// Per item, the number of the event that last touched it: events are numbered 0, 1, …
    /// oldest first, so a larger number is more recent.
    public private(set) var latest: [Int32] = []
    private var events: Int32 = 0
    private var position: [Int32: Int] = [:]
    /// False for a set of items whose order means nothing (a request's `"ordered": false`,
    /// the strong-generalization protocol's random fold-in part): no recency then.
    public var ordered = true

    public init(capacity: Int = 0) {
        indices.reserveCapacity(capacity)
        weights.reserveCapacity(capacity)
        latest.reserveCapacity(capacity)
    }

    /// Items already distinct (a row of a training matrix), with the event number each was
    /// last seen at (nil: the order given, oldest first).
    public init<I: Sequence<Int32>, W: Sequence<Float>>(distinct indices: I, weights: W, latest: [Int32]? = nil) {
        self.indices = Array(indices)
        self.weights = Array(weights)
        self.latest = latest ?? (0..<Int32(self.indices.count)).map { $0 }
        self.events = (self.latest.max() ?? -1) + 1
        precondition(self.indices.count == self.weights.count && self.latest.count == self.indices.count, "one weight and one event per item")
    }

    public var count: Int { indices.count }
    public var isEmpty: Bool { indices.isEmpty }

    /// Adds an item; a repeat adds its weight to the first (a linear scan for the usual few
    /// items, a dictionary past 32).
    /// Each call is one event, newer than the ones before.
    public mutating func add(_ index: Int32, weight: Float) {
        add(index, weight: weight, event: events)
    }

    mutating func add(_ index: Int32, weight: Float, event: Int32) {
        events = max(events, event + 1)
        let p = indices.count > 32 ? position[index] : indices.firstIndex(of: index)
        if let p {
            weights[p] += weight
            latest[p] = max(latest[p], event)
            return
        }
        if indices.count == 32 { for (k, i) in indices.enumerated() { position[i] = k } }
        if indices.count >= 32 { position[index] = indices.count }
        indices.append(index)
        weights.append(weight)
        latest.append(event)
    }

    /// Per item, how many of the bag's other items were seen after it (0: the newest).
    public var recencyRanks: [Int32] {
        var ranks = [Int32](repeating: 0, count: count)
        // Already oldest first (the usual case: a history of distinct items): no sort.
        if zip(latest, latest.dropFirst()).allSatisfy({ $0 < $1 }) {
            for k in 0..<count { ranks[k] = Int32(count - 1 - k) }
            return ranks
        }
        let order = (0..<count).sorted { latest[$0] > latest[$1] || (latest[$0] == latest[$1] && $0 > $1) }
        for (rank, k) in order.enumerated() { ranks[k] = Int32(rank) }
        return ranks
    }

    /// Whether some item's summed weight is negative (a dislike).
    public var hasDislikes: Bool { weights.contains { $0 < 0 } }

    /// The bag without its disliked items (itself when it has none).
    public var withoutDislikes: ItemBag {
        guard hasDislikes else { return self }
        var bag = ItemBag(capacity: count)
        for k in 0..<count where weights[k] >= 0 { bag.add(indices[k], weight: weights[k], event: latest[k]) }
        bag.ordered = ordered
        return bag
    }

    public static func == (a: ItemBag, b: ItemBag) -> Bool { a.indices == b.indices && a.weights == b.weights && a.ordered == b.ordered }
}
