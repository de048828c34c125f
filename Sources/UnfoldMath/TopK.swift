/// The k largest scores with their indices, best first, skipping indices for which
/// `excluded` is true. A size-k min-heap: O(n log k), one pass, no full sort.
@inlinable
public func topK(_ scores: UnsafeBufferPointer<Float>, k: Int, excluded: (Int) -> Bool = { _ in false }) -> [(index: Int, score: Float)] {
    guard k > 0, let p = scores.baseAddress else { return [] }
    let n = scores.count
    var heapIndex = [Int](), heapScore = [Float]()
    heapIndex.reserveCapacity(k)
    heapScore.reserveCapacity(k)
    var i = 0
    // Fill: the first k allowed, non-NaN scores, kept as a min-heap.
    while i < n && heapScore.count < k {
        let s = p[i]
        if !s.isNaN && !excluded(i) {
            heapIndex.append(i)
            heapScore.append(s)
            var c = heapScore.count - 1
            while c > 0 {
                let parent = (c - 1) / 2
                if heapScore[parent] <= heapScore[c] { break }
                heapScore.swapAt(parent, c)
                heapIndex.swapAt(parent, c)
                c = parent
            }
        }
        i += 1
    }
    // Scan: most scores lose to the heap's minimum, so a tight loop skips them (NaN
    // compares false) and only a winner touches the heap.
    while i < n {
        let threshold = heapScore[0]
        while i < n && !(p[i] > threshold) { i += 1 }
        guard i < n else { break }
        let s = p[i]
        if !excluded(i) {
            heapScore[0] = s
            heapIndex[0] = i
            var parent = 0
            while true {
                let l = 2 * parent + 1, r = l + 1
                var m = parent
                if l < k && heapScore[l] < heapScore[m] { m = l }
                if r < k && heapScore[r] < heapScore[m] { m = r }
                if m == parent { break }
                heapScore.swapAt(parent, m)
                heapIndex.swapAt(parent, m)
                parent = m
            }
        }
        i += 1
    }
    var result: [(index: Int, score: Float)] = []
    result.reserveCapacity(heapIndex.count)
    for j in 0..<heapIndex.count { result.append((index: heapIndex[j], score: heapScore[j])) }
    result.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
    return result
}
