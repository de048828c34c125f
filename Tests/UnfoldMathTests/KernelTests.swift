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

    /// The bfloat16 scan stays within its stated bound ‖q‖·r_i of the exact scores.
    func testBlockedTableApproximateScoresStayWithinTheirBound() {
        for (rows, cols) in [(1, 13), (15, 13), (16, 64), (17, 7), (100, 64), (40, 1)] {
            let m = Matrix.random(rows: rows, cols: cols, scale: 1, seed: 5)
            let q = randomVector(cols, seed: 6)
            var exact = [Float](repeating: 0, count: rows), approximate = exact
            let qNorm = q.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            m.storage.withUnsafeBufferPointer { t in
                q.withUnsafeBufferPointer { qp in
                    exact.withUnsafeMutableBufferPointer { matrixVector(t.baseAddress!, rows: rows, cols: cols, qp.baseAddress!, into: $0.baseAddress!) }
                    // Float32 (the default at this size) scores exactly.
                    let float32 = BlockedTable(t.baseAddress!, rows: rows, cols: cols)
                    XCTAssertEqual(float32.precision, .float32)
                    approximate.withUnsafeMutableBufferPointer { float32.approximateScores(qp.baseAddress!, into: $0.baseAddress!) }
                    for i in 0..<rows { XCTAssertEqual(approximate[i], exact[i], accuracy: 1e-4, "rows=\(rows) cols=\(cols)") }
                    let blocked = BlockedTable(t.baseAddress!, rows: rows, cols: cols, precision: .bfloat16)
                    approximate.withUnsafeMutableBufferPointer { blocked.approximateScores(qp.baseAddress!, into: $0.baseAddress!) }
                    for i in 0..<rows {
                        XCTAssertLessThanOrEqual(abs(approximate[i] - exact[i]), qNorm * blocked.slack[i], "rows=\(rows) cols=\(cols) row \(i)")
                        // bfloat16 keeps 8 bits: the bound is about 2⁻⁸ of ‖v_i‖, not more.
                        let rowNorm = (0..<cols).reduce(Float(0)) { $0 + m[i, $1] * m[i, $1] }.squareRoot()
                        XCTAssertLessThanOrEqual(blocked.slack[i], rowNorm / 128)
                    }
                }
            }
        }
    }

    /// A value bfloat16 would round to infinity keeps the table in Float32.
    func testBlockedTableKeepsFloat32ForValuesBfloat16CannotHold() {
        var m = Matrix.random(rows: 20, cols: 4, scale: 1, seed: 2)
        XCTAssertEqual(m.storage.withUnsafeBufferPointer { BlockedTable($0.baseAddress!, rows: 20, cols: 4, precision: .bfloat16).precision }, .bfloat16)
        m[3, 1] = Float.greatestFiniteMagnitude
        XCTAssertEqual(m.storage.withUnsafeBufferPointer { BlockedTable($0.baseAddress!, rows: 20, cols: 4, precision: .bfloat16).precision }, .float32)
    }

    /// The scan's top k, in either precision, is the exact top k (brute force), with exclusions,
    /// a bias, fewer allowed rows than k, and rows too close for bfloat16 to tell apart.
    func testBlockedTableTopKIsTheExactTopK() {
        var near = Matrix.random(rows: 300, cols: 32, scale: 1, seed: 11)
        // Rows 100..<160 equal row 0 up to relative 1e-5: indistinguishable after rounding.
        for r in 100..<160 { for c in 0..<32 { near[r, c] = near[0, c] * (1 + Float(r - 99) * 1e-5) } }
        let cases: [(Matrix, Int)] = [(Matrix.random(rows: 1000, cols: 64, scale: 1, seed: 3), 10), (near, 50), (near, 1),
                                      (Matrix.random(rows: 37, cols: 7, scale: 1, seed: 4), 100),
                                      // Over 128 blocks: laid out by two threads.
                                      (Matrix.random(rows: 3001, cols: 8, scale: 1, seed: 5), 20)]
        for (m, k) in cases {
            let n = m.rows, d = m.cols
            let q = near.rows == n ? (0..<d).map { near[0, $0] } : randomVector(d, seed: 12)
            let bias = randomVector(n, seed: 13).map { $0 * 0.1 }
            for (useBias, precision) in [(false, BlockedTable.Precision.bfloat16), (true, .bfloat16), (false, .float32), (true, .float32)] {
                let excluded: (Int) -> Bool = { $0 % 7 == 3 }
                func bruteForce(_ i: Int) -> Float {
                    var sum: Float = useBias ? bias[i] : 0
                    for c in 0..<d { sum += q[c] * m[i, c] }
                    return sum
                }
                let allowed: [(Int, Float)] = (0..<n).filter { !excluded($0) }.map { ($0, bruteForce($0)) }
                let exact = allowed.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k)
                let got = m.storage.withUnsafeBufferPointer { t in
                    q.withUnsafeBufferPointer { qp in
                        bias.withUnsafeBufferPointer { b in
                            BlockedTable(t.baseAddress!, rows: n, cols: d, precision: precision).topK(qp.baseAddress!, table: t.baseAddress!, bias: useBias ? b.baseAddress : nil, k: k, excluded: excluded)
                        }
                    }
                }
                XCTAssertEqual(got.count, exact.count)
                // Same items in the same order, up to the rounding of two Float32 sums.
                for (g, e) in zip(got, exact) {
                    XCTAssertEqual(g.score, e.1, accuracy: 1e-4 * max(1, abs(e.1)), "n=\(n) k=\(k) bias=\(useBias)")
                }
                // Every returned row belongs in the exact top k (ties to Float32 rounding aside),
                // none twice, none excluded; where no scores tie, the very same rows in order.
                let kth = exact.last!.1
                XCTAssertEqual(Set(got.map { $0.index }).count, got.count)
                XCTAssertFalse(got.contains { excluded($0.index) })
                for g in got { XCTAssertGreaterThanOrEqual(bruteForce(g.index), kth - 1e-4 * max(1, abs(kth)), "n=\(n) k=\(k) row \(g.index)") }
                if m.rows != near.rows { XCTAssertEqual(got.map { $0.index }, exact.map { $0.0 }, "n=\(n) k=\(k) bias=\(useBias)") }
            }
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
