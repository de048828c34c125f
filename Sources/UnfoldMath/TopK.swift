/// The k largest scores with their indices, best first, skipping indices for which
/// `excluded` is true. A size-k min-heap: O(n log k), one pass, no full sort.
@inlinable
public func topK(_ scores: UnsafeBufferPointer<Float>, k: Int, excluded: (Int) -> Bool = { _ in false }) -> [(index: Int, score: Float)] {
    guard k > 0 else { return [] }
    var heapIndex = [Int](), heapScore = [Float]()
    heapIndex.reserveCapacity(k)
    heapScore.reserveCapacity(k)
    // The heap's minimum once it is full (−∞ before): most scores lose to it, so the loop
    // compares against a register, not the heap.
    var threshold = -Float.infinity, full = false
    for i in 0..<scores.count {
        let s = scores[i]
        if full && !(s > threshold) { continue }
        if s.isNaN || excluded(i) { continue }
        if heapScore.count < k {
            heapIndex.append(i)
            heapScore.append(s)
            var c = heapScore.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                if heapScore[p] <= heapScore[c] { break }
                heapScore.swapAt(p, c)
                heapIndex.swapAt(p, c)
                c = p
            }
        } else {
            heapScore[0] = s
            heapIndex[0] = i
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < k && heapScore[l] < heapScore[m] { m = l }
                if r < k && heapScore[r] < heapScore[m] { m = r }
                if m == p { break }
                heapScore.swapAt(p, m)
                heapIndex.swapAt(p, m)
                p = m
            }
        }
        if heapScore.count == k { (threshold, full) = (heapScore[0], true) }
    }
    var result: [(index: Int, score: Float)] = []
    result.reserveCapacity(heapIndex.count)
    for j in 0..<heapIndex.count { result.append((index: heapIndex[j], score: heapScore[j])) }
    result.sort { $0.score > $1.score || ($0.score == $1.score && $0.index < $1.index) }
    return result
}
