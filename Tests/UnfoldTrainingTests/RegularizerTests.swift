import XCTest
import UnfoldData
import UnfoldMath
import UnfoldModels
@testable import UnfoldTraining

final class RegularizerTests: XCTestCase {
    func bruteForceGravity(_ U: Matrix, _ V: Matrix) -> Double {
        var sum = 0.0
        for u in 0..<U.rows {
            for i in 0..<V.rows {
                let s = (0..<U.cols).reduce(0.0) { $0 + Double(U[u, $1]) * Double(V[i, $1]) }
                sum += s * s
            }
        }
        return sum / Double(U.rows * V.rows)
    }

    func testGravityThroughGramsEqualsTheSumOverAllPairs() {
        let U = Matrix.random(rows: 30, cols: 6, scale: 1, seed: 1), V = Matrix.random(rows: 20, cols: 6, scale: 1, seed: 2)
        XCTAssertEqual(Regularizers.gravity(users: U, items: V), bruteForceGravity(U, V), accuracy: 1e-4 * bruteForceGravity(U, V))
    }

    func testGravityGradientMatchesFiniteDifferences() {
        var U = Matrix.random(rows: 5, cols: 4, scale: 1, seed: 3)
        let V = Matrix.random(rows: 7, cols: 4, scale: 1, seed: 4)
        let itemGram = gram(V)
        var gradient = [Float](repeating: 0, count: 4)
        let scale = Float(2.0 / Double(U.rows * V.rows))
        U.storage.withUnsafeBufferPointer { u in
            itemGram.withUnsafeBufferPointer { g in
                gradient.withUnsafeMutableBufferPointer { Regularizers.gravityGradient(row: u.baseAddress! + 2 * 4, otherGram: g.baseAddress!, d: 4, scale: scale, into: $0.baseAddress!) }
            }
        }
        let h: Float = 1e-2
        for j in 0..<4 {
            let original = U[2, j]
            U[2, j] = original + h
            let up = bruteForceGravity(U, V)
            U[2, j] = original - h
            let down = bruteForceGravity(U, V)
            U[2, j] = original
            XCTAssertEqual(Double(gradient[j]), (up - down) / Double(2 * h), accuracy: 1e-3)
        }
    }

    func testTrainingWithGravityLowersTheMeanSquaredScore() throws {
        let output = try SyntheticGenerator(users: 200, items: 80, interactions: 4000, groups: 2, seed: 6).generate()
        let matrix = output.interactions.userItemMatrix()
        var p = MFSGDParameters()
        p.regularization = 0.0001
        p.factors = 8
        p.epochs = 5
        p.sampler = .none  // positives only: nothing else holds the scores down
        var plain: [EpochRecord] = [], pulled: [EpochRecord] = []
        _ = MFSGD.train(matrix, p, threads: 1, onEpoch: { plain.append($0) })
        p.gravity = 0.5
        _ = MFSGD.train(matrix, p, threads: 1, onEpoch: { pulled.append($0) })
        XCTAssertLessThan(pulled.last!.gravity!, plain.last!.gravity! * 0.8, "plain \(plain.last!.gravity!), with gravity \(pulled.last!.gravity!)")
    }
}

final class StableRankRegularizerTests: XCTestCase {
    func value(_ m: Matrix, gamma: Float) -> Float {
        m.storage.withUnsafeBufferPointer { base in
            Regularizers.stableRank(rows: (0..<m.rows).map { UnsafePointer(base.baseAddress! + $0 * m.cols) }, d: m.cols, weight: gamma).value
        }
    }

    func testValueIsMinusGammaStableRankOverD() {
        var m = Matrix(rows: 3, cols: 3)
        m[0, 0] = 2; m[1, 1] = 5; m[2, 2] = 0.5  // orthogonal rows: srank of the unit rows is 3
        XCTAssertEqual(value(m, gamma: 1), -1, accuracy: 1e-4)
    }

    func testWarmStartRaisesTheStableRankOfTheTables() throws {
        let output = try SyntheticGenerator(users: 300, items: 120, interactions: 6000, groups: 3, seed: 8).generate()
        let matrix = output.interactions.userItemMatrix()
        var p = MFSGDParameters()
        p.regularization = 0.0001
        p.factors = 16
        p.epochs = 2
        p.batchSize = 64
        p.sampler = .none  // positives only collapse the tables toward one direction
        var plain: [EpochRecord] = [], warm: [EpochRecord] = []
        _ = MFSGD.train(matrix, p, threads: 1, onEpoch: { plain.append($0) })
        p.stableRankWeight = 5
        p.stableRankEpochs = 2
        _ = MFSGD.train(matrix, p, threads: 1, onEpoch: { warm.append($0) })
        XCTAssertGreaterThan(warm.last!.stableRankItems, plain.last!.stableRankItems * 1.2,
                             "item srank \(plain.last!.stableRankItems) plain vs \(warm.last!.stableRankItems) with the regularizer")
    }

    func testGradientMatchesFiniteDifferences() {
        var m = Matrix.random(rows: 6, cols: 4, scale: 1, seed: 9)
        let analytic: [Float] = m.storage.withUnsafeBufferPointer { base in
            Regularizers.stableRank(rows: (0..<6).map { UnsafePointer(base.baseAddress! + $0 * 4) }, d: 4, weight: 0.7).gradients
        }
        let h: Float = 1e-3
        for k in [0, 5, 9, 14, 23] {
            let original = m.storage[k]
            m.storage[k] = original + h
            let up = value(m, gamma: 0.7)
            m.storage[k] = original - h
            let down = value(m, gamma: 0.7)
            m.storage[k] = original
            XCTAssertEqual(analytic[k], (up - down) / (2 * h), accuracy: 2e-3, "entry \(k)")
        }
    }
}
