/// A sorted list of indices with a binary-search `contains`: retrieval asks it only about
/// its few candidates, so building a hash set per query would cost more.
struct SortedIndices {
    let values: [Int]
    init(_ sorted: [Int]) { values = sorted }

    func contains(_ x: Int) -> Bool {
        var lo = 0, hi = values.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if values[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo < values.count && values[lo] == x
    }
}
