/// The k largest scores with their indices, best first, ties by lower index, skipping
/// indices for which `excluded` is true and NaN scores. A size-k heap: O(n log k), one
/// pass, no full sort.
@inlinable
public func topK(_ scores: UnsafeBufferPointer<Float>, k: Int, excluded: (Int) -> Bool = { _ in false }) -> [(index: Int, score: Float)] {
    guard k > 0, let p = scores.baseAddress else { return [] }
    let n = scores.count
    var heap = ScoreHeap(k: k)
    var i = 0
    // Fill: the first k allowed, non-NaN scores.
    while i < n && !heap.isFull {
        let s = p[i]
        if !s.isNaN && !excluded(i) { heap.push(s, index: i) }
        i += 1
    }
    // Scan: most scores lose to the heap's worst, so a tight loop skips them (NaN compares
    // false; an equal score comes later, so it has the higher index and loses the tie) and
    // only a winner touches the heap.
    while i < n {
        let threshold = heap.worstScore
        while i < n && !(p[i] > threshold) { i += 1 }
        guard i < n else { break }
        if !excluded(i) { heap.replaceWorst(p[i], index: i) }
        i += 1
    }
    return heap.sorted()
}

/// The best k (score, index) pairs seen: a min-heap whose root is the worst entry, the
/// lowest score and among equal scores the highest index. With ties ordered by index, which
/// k entries it keeps does not depend on the order they were offered in, so scans of parts
/// of a table merge into the scan of the whole.
public struct ScoreHeap {
    @usableFromInline var scores: [Float] = []
    @usableFromInline var indices: [Int] = []
    @usableFromInline let k: Int

    @inlinable
    public init(k: Int) {
        self.k = k
        scores.reserveCapacity(k)
        indices.reserveCapacity(k)
    }

    @inlinable var isFull: Bool { scores.count >= k }
    @inlinable var count: Int { scores.count }
    /// The root's score (the heap is not empty).
    @inlinable var worstScore: Float { scores[0] }

    /// Whether entry a ranks below entry b.
    @inlinable
    func below(_ a: Int, _ b: Int) -> Bool {
        scores[a] < scores[b] || (scores[a] == scores[b] && indices[a] > indices[b])
    }

    @inlinable
    mutating func swapAt(_ a: Int, _ b: Int) {
        scores.swapAt(a, b)
        indices.swapAt(a, b)
    }

    /// Adds an entry to a heap that is not full.
    @inlinable
    mutating func push(_ score: Float, index: Int) {
        scores.append(score)
        indices.append(index)
        var c = scores.count - 1
        while c > 0 {
            let parent = (c - 1) / 2
            if !below(c, parent) { break }
            swapAt(parent, c)
            c = parent
        }
    }

    /// Replaces the worst entry of a full heap by one that ranks above it.
    @inlinable
    mutating func replaceWorst(_ score: Float, index: Int) {
        scores[0] = score
        indices[0] = index
        var parent = 0
        let n = scores.count
        while true {
            let l = 2 * parent + 1, r = l + 1
            var m = parent
            if l < n && below(l, m) { m = l }
            if r < n && below(r, m) { m = r }
            if m == parent { break }
            swapAt(parent, m)
            parent = m
        }
    }

    /// Offers an entry: kept if the heap has room or it ranks above the worst.
    @inlinable
    public mutating func offer(_ score: Float, index: Int) {
        if !isFull {
            push(score, index: index)
        } else if score > scores[0] || (score == scores[0] && index < indices[0]) {
            replaceWorst(score, index: index)
        }
    }

    /// The entries best first, ties by lower index.
    @inlinable
    public func sorted() -> [(index: Int, score: Float)] {
        var result: [(index: Int, score: Float)] = []
        result.reserveCapacity(scores.count)
        for j in 0..<scores.count { result.append((index: indices[j], score: scores[j])) }
        result.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
        return result
    }
}
