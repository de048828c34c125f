import XCTest
import UnfoldMath
import UnfoldModels
import UnfoldServing
@testable import UnfoldTraining

/// The approximate index against brute force on seeded data with what trained tables have:
/// planted groups, norms that carry popularity (a few long items), exact duplicates.
final class IndexTests: XCTestCase {
    struct Data {
        var items: ItemTable
        var queries: Matrix
        var longItems: [Int]
    }

    /// n items in `groups` directions with noise, norms from a power law (the 1% most popular
    /// up to 8× the median), 40 exact duplicates; queries near the group directions.
    func data(n: Int = 20_000, d: Int = 16, groups: Int = 40, queries: Int = 300, seed: UInt64 = 9) -> Data {
        var rng = SplitMix64(seed: seed)
        func gaussian() -> Float {
            let u = max(rng.nextDouble(), 1e-12), v = rng.nextDouble()
            return Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        }
        let centers = (0..<(groups * d)).map { _ in gaussian() }
        var storage = [Float](repeating: 0, count: n * d)
        var long: [Int] = []
        for i in 0..<n {
            let g = Int(rng.next() % UInt64(groups))
            var scale = Float(0.5 + rng.nextDouble())
            if i % 100 == 0 {
                scale *= 8
                long.append(i)
            }
            for c in 0..<d { storage[i * d + c] = scale * (centers[g * d + c] + 0.6 * gaussian()) }
        }
        for k in 0..<40 {  // duplicates of earlier rows
            let source = (k * 37) % (n / 2), target = n - 1 - k
            for c in 0..<d { storage[target * d + c] = storage[source * d + c] }
        }
        var q = [Float](repeating: 0, count: queries * d)
        for r in 0..<queries {
            let g = Int(rng.next() % UInt64(groups))
            for c in 0..<d { q[r * d + c] = centers[g * d + c] + 0.8 * gaussian() }
        }
        return Data(items: ItemTable(ids: (0..<n).map { "i\($0)" }, vectors: Matrix(rows: n, cols: d, storage: storage)),
                    queries: Matrix(rows: queries, cols: d, storage: q), longItems: long)
    }

    func exactTop(_ items: ItemTable, _ q: UnsafePointer<Float>, k: Int, allowed: Set<Int>? = nil) -> [(index: Int, score: Float)] {
        let n = items.count
        var scores = [Float](repeating: 0, count: n)
        scores.withUnsafeMutableBufferPointer { matrixVector(items.vectors.base, rows: n, cols: items.dimensions, q, into: $0.baseAddress!) }
        return scores.withUnsafeBufferPointer { buffer in topK(buffer, k: k) { i in allowed.map { !$0.contains(i) } ?? false } }
    }

    func testRecallAgainstBruteForceWithLongItemsDuplicatesAndAFilter() {
        let data = self.data()
        let items = data.items, d = items.dimensions
        // Calibrated on one half of the queries, measured on the other.
        let calibration = Matrix(rows: 150, cols: d, storage: Array(data.queries.storage[0..<(150 * d)]))
        let index = IndexBuilder.build(items, queries: calibration)
        XCTAssertEqual(index.lists, 256)
        XCTAssertGreaterThanOrEqual(index.recall, 0.97)
        XCTAssertLessThan(index.probes, index.lists / 4, "the index must be much cheaper than a scan")
        XCTAssertEqual(Set(index.members.buffer).count, items.count, "every item in exactly one list")
        var hits = 0, total = 0, longHits = 0, longTotal = 0, filteredHits = 0, filteredTotal = 0
        var rng = SplitMix64(seed: 4)
        let allowed = Set((0..<items.count).filter { _ in rng.nextDouble() < 0.1 })
        data.queries.storage.withUnsafeBufferPointer { qs in
            for r in 150..<data.queries.rows {
                let q = qs.baseAddress! + r * d
                let exact = exactTop(items, q, k: 10)
                let found = index.search(q, k: 10, table: items.vectors.base)
                let got = Set(found.map(\.index))
                // Returned scores are exact inner products.
                for f in found { XCTAssertEqual(f.score, dot(items.row(f.index), q, d)) }
                for e in exact {
                    total += 1
                    if got.contains(e.index) { hits += 1 }
                    if data.longItems.contains(e.index) {
                        longTotal += 1
                        if got.contains(e.index) { longHits += 1 }
                    }
                }
                let exactFiltered = exactTop(items, q, k: 10, allowed: allowed)
                let foundFiltered = index.search(q, k: 10, table: items.vectors.base, allowed: { allowed.contains($0) }, selectivity: 0.1)
                XCTAssertTrue(foundFiltered.allSatisfy { allowed.contains($0.index) })
                let gotFiltered = Set(foundFiltered.map(\.index))
                filteredTotal += exactFiltered.count
                filteredHits += exactFiltered.filter { gotFiltered.contains($0.index) }.count
            }
        }
        let recall = Double(hits) / Double(total), filtered = Double(filteredHits) / Double(filteredTotal)
        XCTAssertGreaterThanOrEqual(recall, 0.95, "recall@10 on held-out queries")
        XCTAssertGreaterThan(longTotal, 100, "the long (popular) items are in many exact answers")
        XCTAssertGreaterThanOrEqual(Double(longHits) / Double(longTotal), 0.95, "long items are not lost")
        XCTAssertGreaterThanOrEqual(filtered, 0.95, "recall@10 with a filter that allows 10% of the items")
        print("index: \(index.lists) lists, \(index.probes) probes; recall@10 \(recall), long items \(Double(longHits) / Double(longTotal)), filtered \(filtered)")
    }

    /// Excluded rows never come back; k above the candidates returns what there is; the same
    /// seed gives the same index.
    func testExclusionsSmallCataloguesAndDeterminism() {
        let data = self.data(n: 500, groups: 5, queries: 20)
        let a = IndexBuilder.build(data.items, queries: data.queries), b = IndexBuilder.build(data.items, queries: data.queries)
        XCTAssertEqual(a, b)
        data.queries.storage.withUnsafeBufferPointer { qs in
            let exact = exactTop(data.items, qs.baseAddress!, k: 5)
            let banned = Set(exact.prefix(3).map(\.index))
            let found = a.search(qs.baseAddress!, k: 5, table: data.items.vectors.base, probes: a.lists) { banned.contains($0) }
            XCTAssertTrue(found.allSatisfy { !banned.contains($0.index) })
            XCTAssertEqual(found.map(\.index), exactTop(data.items, qs.baseAddress!, k: 5, allowed: Set(0..<500).subtracting(banned)).map(\.index),
                           "probing every list is the exact scan")
            XCTAssertEqual(a.search(qs.baseAddress!, k: 1000, table: data.items.vectors.base, probes: a.lists).count, 500)
        }
        let one = IndexBuilder.build(ItemTable(ids: ["x"], vectors: Matrix(rows: 1, cols: 16, storage: [Float](repeating: 0.5, count: 16))), queries: data.queries)
        XCTAssertEqual(one.lists, 1)
    }
}
