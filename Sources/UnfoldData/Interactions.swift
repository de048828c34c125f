/// Interactions as coordinates over two id spaces: who, what, how much, when.
public struct Interactions: Sendable, Equatable {
    public var users: IDMap
    public var items: IDMap
    public var userIndex: [Int32] = []
    public var itemIndex: [Int32] = []
    public var weights: [Float] = []
    /// Seconds since the epoch, or nil for every record when the source had none.
    public var timestamps: [Double]?

    public init(users: IDMap = IDMap(), items: IDMap = IDMap(), hasTimestamps: Bool = false) {
        self.users = users
        self.items = items
        self.timestamps = hasTimestamps ? [] : nil
    }

    public var count: Int { userIndex.count }

    public mutating func append(user: String, item: String, weight: Float, timestamp: Double?) {
        userIndex.append(users.intern(user))
        itemIndex.append(items.intern(item))
        weights.append(weight)
        if timestamps != nil { timestamps!.append(timestamp ?? 0) }
    }

    public mutating func append(userIndex u: Int32, itemIndex i: Int32, weight: Float, timestamp: Double?) {
        userIndex.append(u)
        itemIndex.append(i)
        weights.append(weight)
        if timestamps != nil { timestamps!.append(timestamp ?? 0) }
    }

    /// users × items, duplicate pairs summed.
    public func userItemMatrix() -> CSRMatrix {
        CSRMatrix(rows: users.count, cols: items.count, rowIndex: userIndex, colIndex: itemIndex, values: weights, order: true, timestamps: timestamps)
    }

    /// How many interactions each item has (after nothing is merged: raw counts); a dislike
    /// (negative weight) does not count.
    public func itemCounts() -> [Float] {
        var counts = [Float](repeating: 0, count: items.count)
        for (i, w) in zip(itemIndex, weights) where w >= 0 { counts[Int(i)] += 1 }
        return counts
    }

    /// A digest of the content, to tell whether two models saw the same data.
    public var fingerprint: String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ v: UInt64) { hash = (hash ^ v) &* 0x100_0000_01B3 }
        for k in 0..<count {
            mix(UInt64(UInt32(bitPattern: userIndex[k])))
            mix(UInt64(UInt32(bitPattern: itemIndex[k])))
            mix(UInt64(weights[k].bitPattern))
        }
        mix(UInt64(users.count))
        mix(UInt64(items.count))
        return String(hash, radix: 16)
    }
}
