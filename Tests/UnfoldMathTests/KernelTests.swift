import XCTest
@testable import UnfoldMath

/// Kernels against naive reference implementations.
final class KernelTests: XCTestCase {
    func randomVector(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in rng.nextGaussian() }
    }

    func testVectorMatrixMatchesTheNaiveProduct() {
        var rng = SplitMix64(seed: 21)
        for (rows, cols) in [(64, 64), (7, 130), (33, 16), (5, 3), (1, 81)] {
            let v = (0..<rows).map { _ in rng.nextGaussian() }
            let m = (0..<(rows * cols)).map { _ in rng.nextGaussian() }
            let v2 = (0..<rows).map { _ in rng.nextGaussian() }
            var out = [Float](repeating: .nan, count: cols), pair1 = out, pair2 = out
            v.withUnsafeBufferPointer { vp in m.withUnsafeBufferPointer { mp in out.withUnsafeMutableBufferPointer {
                vectorMatrix(vp.baseAddress!, mp.baseAddress!, rows: rows, cols: cols, into: $0.baseAddress!)
            } } }
            v.withUnsafeBufferPointer { vp in v2.withUnsafeBufferPointer { vp2 in m.withUnsafeBufferPointer { mp in
                pair1.withUnsafeMutableBufferPointer { o1 in pair2.withUnsafeMutableBufferPointer { o2 in
                    vectorMatrix2(vp.baseAddress!, vp2.baseAddress!, mp.baseAddress!, rows: rows, cols: cols, into: o1.baseAddress!, o2.baseAddress!)
                } }
            } } }
            for c in 0..<cols {
                let expected = (0..<rows).reduce(Float(0)) { $0 + v[$1] * m[$1 * cols + c] }
                let expected2 = (0..<rows).reduce(Float(0)) { $0 + v2[$1] * m[$1 * cols + c] }
                XCTAssertEqual(out[c], expected, accuracy: 1e-4 * max(1, abs(expected)), "\(rows)x\(cols) column \(c)")
                XCTAssertEqual(pair1[c], expected, accuracy: 1e-4 * max(1, abs(expected)), "pair \(rows)x\(cols) column \(c)")
                XCTAssertEqual(pair2[c], expected2, accuracy: 1e-4 * max(1, abs(expected2)), "pair \(rows)x\(cols) column \(c)")
            }
        }
    }

    func testDotMatchesNaiveForEveryTailLength() {
        for n in [0, 1, 15, 16, 17, 63, 64, 65, 100, 257] {
            let x = randomVector(n, seed: 1), y = randomVector(n, seed: 2)
            let naive = zip(x, y).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let fast = x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { yp in dot(xp.baseAddress!, yp.baseAddress!, n) } }
            XCTAssertEqual(fast, naive, accuracy: 1e-4 * max(1, abs(naive)), "n=\(n)")
        }
    }

    func testAxpy() {
        let x = randomVector(37, seed: 3)
        var y = randomVector(37, seed: 4)
        let expected = zip(x, y).map { 0.5 * $0 + $1 }
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in axpy(0.5, xp.baseAddress!, yp.baseAddress!, 37) } }
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testGramMatchesNaive() {
        let m = Matrix.random(rows: 1000, cols: 13, scale: 1, seed: 5)
        let g = gram(m, threads: 3)
        for i in 0..<13 {
            for j in 0..<13 {
                var s: Float = 0
                for r in 0..<1000 { s += m[r, i] * m[r, j] }
                XCTAssertEqual(g[i * 13 + j], s, accuracy: 1e-3 * max(1, abs(s)))
            }
        }
    }

    func testCholeskySolvesSPDSystem() {
        let d = 9
        let b = Matrix.random(rows: 20, cols: d, scale: 1, seed: 6)
        var a = gram(b)
        for i in 0..<d { a[i * d + i] += 0.1 }
        let x = randomVector(d, seed: 7)
        let rhs = (0..<d).map { i in (0..<d).reduce(Float(0)) { $0 + a[i * d + $1] * x[$1] } }
        let solved = choleskySolve(a, rhs)
        XCTAssertNotNil(solved)
        for (u, v) in zip(solved!, x) { XCTAssertEqual(u, v, accuracy: 1e-3) }
    }

    func testCholeskyRejectsIndefiniteMatrix() {
        XCTAssertNil(choleskySolve([1, 2, 2, 1], [1, 1]))
    }

    func testCholeskyAgainstNaiveForManySizes() {
        for d in [1, 2, 3, 17, 64, 65] {
            let m = Matrix.random(rows: d + 5, cols: d, scale: 1, seed: UInt64(d))
            var a = gram(m)
            for i in 0..<d { a[i * d + i] += 0.5 }
            let x = randomVector(d, seed: 99)
            let rhs = (0..<d).map { i in (0..<d).reduce(Float(0)) { $0 + a[i * d + $1] * x[$1] } }
            let solved = choleskySolve(a, rhs)!
            for (u, v) in zip(solved, x) { XCTAssertEqual(u, v, accuracy: 2e-3, "d=\(d)") }
        }
    }

    func testBlockedTableScoresMatchRowDots() {
        for rows in [1, 15, 16, 17, 100] {
            let m = Matrix.random(rows: rows, cols: 13, scale: 1, seed: 5)
            let q = randomVector(13, seed: 6)
            var expected = [Float](repeating: 0, count: rows), got = expected
            m.storage.withUnsafeBufferPointer { t in
                q.withUnsafeBufferPointer { qp in
                    expected.withUnsafeMutableBufferPointer { matrixVector(t.baseAddress!, rows: rows, cols: 13, qp.baseAddress!, into: $0.baseAddress!) }
                    let blocked = BlockedTable(t.baseAddress!, rows: rows, cols: 13)
                    got.withUnsafeMutableBufferPointer { blocked.scores(qp.baseAddress!, into: $0.baseAddress!) }
                }
            }
            for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-4, "rows=\(rows)") }
        }
    }

    func testTopKMatchesSort() {
        let scores = randomVector(1000, seed: 8)
        let expected = scores.enumerated().filter { $0.offset % 3 != 0 }.sorted { $0.element > $1.element }.prefix(25).map(\.offset)
        let got = scores.withUnsafeBufferPointer { topK($0, k: 25) { $0 % 3 == 0 } }
        XCTAssertEqual(got.map(\.index), Array(expected))
        XCTAssertEqual(scores.withUnsafeBufferPointer { topK($0, k: 5000) }.count, 1000)
        XCTAssertTrue(scores.withUnsafeBufferPointer { topK($0, k: 0) }.isEmpty)
        // Ties (lower index first), −∞ still ranked, NaN never returned.
        let odd: [Float] = [1, .nan, -.infinity, 1, 0.5, .nan, 2, -.infinity, 1]
        XCTAssertEqual(odd.withUnsafeBufferPointer { topK($0, k: 4) }.map(\.index), [6, 0, 3, 8])
        XCTAssertEqual(odd.withUnsafeBufferPointer { topK($0, k: 9) }.map(\.index), [6, 0, 3, 8, 4, 2, 7])
    }

    func testStableRankOfKnownMatrices() {
        // Orthogonal rows of equal norm: srank = rank.
        var identity = Matrix(rows: 4, cols: 4)
        for i in 0..<4 { identity[i, i] = 2 }
        XCTAssertEqual(stableRank(identity), 4, accuracy: 1e-3)
        // Rank one: srank = 1.
        var rankOne = Matrix(rows: 50, cols: 8)
        for r in 0..<50 { for c in 0..<8 { rankOne[r, c] = Float(r + 1) * Float(c + 1) } }
        XCTAssertEqual(stableRank(rankOne), 1, accuracy: 1e-3)
        // Singular values 3 and 1: (9 + 1) / 9.
        var twoScales = Matrix(rows: 2, cols: 2)
        twoScales[0, 0] = 3
        twoScales[1, 1] = 1
        XCTAssertEqual(stableRank(twoScales), 10.0 / 9.0, accuracy: 1e-3)
    }

    func testSeededGeneratorIsReproducible() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        XCTAssertEqual((0..<10).map { _ in a.next() }, (0..<10).map { _ in b.next() })
        var c = SplitMix64(seed: 1)
        let draws = (0..<10000).map { _ in c.nextInt(below: 10) }
        XCTAssertEqual(Set(draws), Set(0..<10))
        let mean = (0..<10000).map { _ in c.nextGaussian() }.reduce(0, +) / 10000
        XCTAssertEqual(mean, 0, accuracy: 0.05)
    }
}
