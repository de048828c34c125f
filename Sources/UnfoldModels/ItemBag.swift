/// The items a query is encoded from: rows of a model's item table with their weights,
/// each item once (a repeat adds its weight to the first, as training sums repeated
/// interactions), in first-seen order.
public struct ItemBag: Sendable, Equatable {
    public private(set) var indices: [Int32] = []
    public private(set) var weights: [Float] = []
    private var position: [Int32: Int] = [:]

    public init(capacity: Int = 0) {
        indices.reserveCapacity(capacity)
        weights.reserveCapacity(capacity)
    }

    /// Items already distinct (a row of a training matrix).
    public init<I: Sequence<Int32>, W: Sequence<Float>>(distinct indices: I, weights: W) {
        self.indices = Array(indices)
        self.weights = Array(weights)
        precondition(self.indices.count == self.weights.count, "one weight per item")
    }

    public var count: Int { indices.count }
    public var isEmpty: Bool { indices.isEmpty }

    /// Adds an item; a repeat adds its weight to the first (a linear scan for the usual few
    /// items, a dictionary past 32).
    public mutating func add(_ index: Int32, weight: Float) {
        let p = indices.count > 32 ? position[index] : indices.firstIndex(of: index)
        if let p {
            weights[p] += weight
            return
        }
        if indices.count == 32 { for (k, i) in indices.enumerated() { position[i] = k } }
        if indices.count >= 32 { position[index] = indices.count }
        indices.append(index)
        weights.append(weight)
    }

    /// Whether some item's summed weight is negative (a dislike).
    public var hasDislikes: Bool { weights.contains { $0 < 0 } }

    /// The bag without its disliked items (itself when it has none).
    public var withoutDislikes: ItemBag {
        guard hasDislikes else { return self }
        var bag = ItemBag(capacity: count)
        for (i, w) in zip(indices, weights) where w >= 0 { bag.add(i, weight: w) }
        return bag
    }

    public static func == (a: ItemBag, b: ItemBag) -> Bool { a.indices == b.indices && a.weights == b.weights }
}
