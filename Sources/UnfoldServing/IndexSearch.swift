import UnfoldMath
import UnfoldModels

extension ItemIndex {
    /// The k best items for q among the members of the lists whose centroids score highest:
    /// exact scores q·v_i from `table`, best first, ties by lower index, skipping rows for
    /// which `excluded` is true and, with a filter, rows `allowed` rejects.
    ///
    /// A filter that lets through a fraction s of the items is applied inside the search: the
    /// probed lists grow to probes / s (all of them at most), so about as many allowed
    /// candidates are scored as an unfiltered query scores items, and the filter costs a
    /// membership test per member rather than a lost answer.
    public func search(_ q: UnsafePointer<Float>, k: Int, table: UnsafePointer<Float>, probes: Int? = nil,
                       excluded: (Int) -> Bool = { _ in false }, allowed: ((Int) -> Bool)? = nil, selectivity: Double = 1) -> [(index: Int, score: Float)] {
        guard k > 0 else { return [] }
        let d = dimensions, stride = d + 1
        var probe = probes ?? self.probes
        if allowed != nil { probe = Int((Double(probe) / max(selectivity, 1e-9)).rounded(.up)) }
        probe = max(1, min(probe, lists))
        // Centroid scores: the query is [q, 0] against the (d+1)-dimensional centroids.
        let order = withUnsafeTemporaryAllocation(of: Float.self, capacity: lists) { buffer -> [(index: Int, score: Float)] in
            let scores = buffer.baseAddress!
            for j in 0..<lists { scores[j] = dot(centroids.base + j * stride, q, d) }
            return topK(UnsafeBufferPointer(start: scores, count: lists), k: probe)
        }
        var best = ScoreHeap(k: k)
        for (j, _) in order {
            let members = list(j)
            let count = members.count
            for position in 0..<count {
                // Members ascend within a list; fetch a few rows ahead so the loads overlap.
                if position + 4 < count { unfold_prefetch_range(table + Int(members[position + 4]) * d, d * 4) }
                let i = Int(members[position])
                if excluded(i) { continue }
                if let allowed, !allowed(i) { continue }
                let score = dot(table + i * d, q, d)
                if !score.isNaN { best.offer(score, index: i) }
            }
        }
        return best.sorted()
    }
}
