import XCTest
import UnfoldMath
@testable import UnfoldModels

final class QueryEncoderTests: XCTestCase {
    let items = Matrix.random(rows: 20, cols: 6, scale: 1, seed: 3)

    func encode(_ encoder: QueryEncoder, _ bag: ItemBag, features: FeatureInput = .none) -> [Float]? {
        var q = [Float](repeating: 0, count: 6)
        var scratch = [Float](repeating: 0, count: max(encoder.scratchCount, 1))
        let ok = items.storage.withUnsafeBufferPointer { t in
            scratch.withUnsafeMutableBufferPointer { s in
                q.withUnsafeMutableBufferPointer { encoder.encode(items: t.baseAddress!, dimensions: 6, bag: bag, features: features, scratch: s.baseAddress!, out: $0.baseAddress!) }
            }
        }
        return ok ? q : nil
    }

    func testItemBagSumsRepeatsInFirstSeenOrder() {
        var bag = ItemBag()
        for (i, w) in [(Int32(4), Float(1)), (2, 2), (4, 0.5)] { bag.add(i, weight: w) }
        XCTAssertEqual(bag.indices, [4, 2])
        XCTAssertEqual(bag.weights, [1.5, 2])
        var many = ItemBag()
        for k in 0..<100 { many.add(Int32(k % 40), weight: 1) }
        XCTAssertEqual(many.count, 40, "past 32 items the dictionary keeps the same rule")
        XCTAssertEqual(many.weights.reduce(0, +), 100)
    }

    func testMeanPoolingIsTheWeightedMean() throws {
        let q = try XCTUnwrap(encode(.meanPooling, ItemBag(distinct: [1, 5], weights: [1, 3])))
        for j in 0..<6 { XCTAssertEqual(q[j], 0.25 * items[1, j] + 0.75 * items[5, j], accuracy: 1e-6) }
    }

    func testFoldInIsTheRowSolveOfWALS() throws {
        let foldIn = FoldIn(items: items, alpha: 2, unobservedWeight: 0.5, regularization: 0.3)
        let bag = ItemBag(distinct: [0, 3, 9, 11], weights: [1, 2, 0, 4])
        let q = try XCTUnwrap(encode(.foldIn(foldIn), bag))
        // The normal equations hold: A q = b.
        for r in 0..<6 {
            var aq = (0..<6).reduce(Float(0)) { $0 + foldIn.gram[r * 6 + $1] * q[$1] }, b: Float = 0
            for (i, w) in zip(bag.indices, bag.weights) {
                let c = 1 + 2 * w, v = items.row(Int(i)), vq = (0..<6).reduce(Float(0)) { $0 + v[v.startIndex + $1] * q[$1] }
                aq += (c - 0.5) * vq * v[v.startIndex + r]
                b += c * v[v.startIndex + r]
            }
            XCTAssertEqual(aq, b, accuracy: 1e-3 * max(1, abs(b)))
        }
    }

    func testATowerWithoutHiddenLayersIsAnAffineMapOfTheBagAndFeatures() throws {
        let spec = FeatureSpec.numeric("age", mean: 10, std: 2)
        let layout = TowerLayout(items: 20, inputDimensions: 3, hidden: [], outputDimensions: 2, features: [spec])
        var rng = SplitMix64(seed: 1)
        let parameters = (0..<layout.count).map { _ in rng.nextGaussian() }
        let tower = Tower(layout: layout, parameters: PinnedArray(parameters), itemBias: PinnedArray([Float](repeating: 0, count: 20)))
        let input = try tower.features(["age": .number(14)])
        XCTAssertEqual(input.inputs, [2])
        var q = [Float](repeating: 0, count: 2)
        q.withUnsafeMutableBufferPointer { tower.encode(bag: ItemBag(distinct: [2, 7], weights: [1, 1]), features: input, out: $0.baseAddress!) }
        let e = 3, table = Array(parameters[0..<(20 * e)])
        let x = (0..<e).map { (table[2 * e + $0] + table[7 * e + $0]) / 2 } + [2]
        for r in 0..<2 {
            let expected = parameters[layout.biases[0] + r] + (0..<4).reduce(Float(0)) { $0 + parameters[layout.weights[0] + r * 4 + $1] * x[$1] }
            XCTAssertEqual(q[r], expected, accuracy: 1e-5)
        }
        XCTAssertThrowsError(try QueryEncoder.meanPooling.features(["age": .number(1)])) { XCTAssertEqual($0 as? FeatureError, .unknown(name: "age", known: [])) }
    }

    /// The backward pass against central differences of q·g for a fixed g.
    func testTowerBackwardMatchesFiniteDifferences() {
        let features: [FeatureSpec] = [.categorical("job", values: ["a", "b"], dimensions: 2), .numeric("age", mean: 0, std: 1)]
        let layout = TowerLayout(items: 4, inputDimensions: 3, hidden: [5], outputDimensions: 2, features: features)
        var rng = SplitMix64(seed: 2)
        var parameters = (0..<layout.count).map { _ in rng.nextGaussian() * 0.7 }
        for r in 0..<5 { parameters[layout.biases[0] + r] = 0.5 }
        let input = FeatureInput(["job": .string("b"), "age": .number(0.4)], schema: features)
        let bag: [Float] = [0.3, -0.2, 0.9], g: [Float] = [0.7, -1.3]
        let pass = TowerPass(layout: layout)
        func objective(_ p: [Float]) -> Float {
            p.withUnsafeBufferPointer { pp in bag.withUnsafeBufferPointer { pass.forward(parameters: pp.baseAddress!, bag: $0.baseAddress!, features: input) } }
            return pass.output[0] * g[0] + pass.output[1] * g[1]
        }
        _ = objective(parameters)
        pass.outputGradient[0] = g[0]
        pass.outputGradient[1] = g[1]
        var gradient = [Float](repeating: 0, count: layout.count)
        parameters.withUnsafeBufferPointer { p in gradient.withUnsafeMutableBufferPointer { pass.backward(parameters: p.baseAddress!, gradient: $0.baseAddress!, features: input) } }
        let dBag = (0..<3).map { pass.deltas[0][$0] }
        let h: Float = 1e-2
        for k in 0..<layout.count {
            var up = parameters, down = parameters
            up[k] += h
            down[k] -= h
            XCTAssertEqual(gradient[k], (objective(up) - objective(down)) / (2 * h), accuracy: 2e-2, "parameter \(k)")
        }
        // dL/d(bag) too (the bag is not a parameter: perturb it directly).
        for j in 0..<3 {
            func at(_ delta: Float) -> Float {
                var b = bag
                b[j] += delta
                parameters.withUnsafeBufferPointer { pp in b.withUnsafeBufferPointer { pass.forward(parameters: pp.baseAddress!, bag: $0.baseAddress!, features: input) } }
                return pass.output[0] * g[0] + pass.output[1] * g[1]
            }
            XCTAssertEqual(dBag[j], (at(h) - at(-h)) / (2 * h), accuracy: 2e-2, "bag \(j)")
        }
    }

    func testPinnedArraysOwnOrBorrow() {
        let owned = PinnedArray<Float>([1, 2, 3])
        XCTAssertEqual(owned.array, [1, 2, 3])
        XCTAssertEqual(owned[1], 2)
        final class Owner: @unchecked Sendable { let storage = UnsafeMutablePointer<Int32>.allocate(capacity: 2); deinit { storage.deallocate() } }
        let owner = Owner()
        owner.storage[0] = 7
        owner.storage[1] = 9
        let borrowed = PinnedArray(mapped: UnsafePointer(owner.storage), count: 2, owner: owner)
        XCTAssertEqual(borrowed.array, [7, 9])
    }
}
