import UnfoldMath

/// One thread's forward and backward pass through a query tower, on scratch it allocates
/// once. The trainer and the server run this same pass: the trainer on its shared
/// parameter buffer, the server on the snapshot's.
///
///     x = [ bag ; features ]
///     h_1 = ReLU(W_1 x + b_1), …, h_{L−1} = ReLU(W_{L−1} h_{L−2} + b_{L−1}),  q = W_L h_{L−1} + b_L
///
/// Not Sendable: the activations are this thread's.
public final class TowerPass {
    public let layout: TowerLayout
    private let shapes: [(input: Int, output: Int)]
    /// activations[0] = x, activations[l + 1] = output of layer l (after ReLU but the last).
    public let activations: [UnsafeMutablePointer<Float>]
    /// deltas[l] = dL/d(activations[l]).
    public let deltas: [UnsafeMutablePointer<Float>]

    public init(layout: TowerLayout) {
        self.layout = layout
        shapes = layout.shapes
        let widths = [layout.inputWidth] + layout.layerSizes
        func buffers() -> [UnsafeMutablePointer<Float>] {
            widths.map { w in
                let a = UnsafeMutablePointer<Float>.allocate(capacity: max(w, 1))
                a.initialize(repeating: 0, count: max(w, 1))
                return a
            }
        }
        activations = buffers()
        deltas = buffers()
    }

    deinit {
        for a in activations + deltas { a.deallocate() }
    }

    /// q, valid after `forward`.
    public var output: UnsafeMutablePointer<Float> { activations[shapes.count] }
    /// Where the caller puts dL/dq before `backward`.
    public var outputGradient: UnsafeMutablePointer<Float> { deltas[shapes.count] }

    /// x = [bag; features] through the layers of the parameters at P.
    public func forward(parameters P: UnsafePointer<Float>, bag: UnsafePointer<Float>, features: FeatureInput) {
        let e = layout.inputDimensions
        let x = activations[0]
        x.update(from: bag, count: e)
        for (f, spec) in layout.features.enumerated() {
            let slot = layout.featureSlots[f]
            switch spec.kind {
            case .numeric:
                x[slot] = features.inputs[f]
            case .categorical:
                (x + slot).update(from: P + layout.featureTables[f] + features.rows[f] * spec.dimensions, count: spec.dimensions)
            }
        }
        for (l, shape) in shapes.enumerated() {
            let w = P + layout.weights[l], b = P + layout.biases[l]
            let input = activations[l], y = activations[l + 1]
            for r in 0..<shape.output {
                var v = b[r] + dot(w + r * shape.input, input, shape.input)
                if l < shapes.count - 1 && v < 0 { v = 0 }
                y[r] = v
            }
        }
    }

    /// Backpropagates dL/dq (in `outputGradient`) through the layers into the gradient G
    /// (same layout as the parameters), including the categorical feature rows; leaves
    /// dL/dx in deltas[0], whose first e entries are dL/d(bag).
    public func backward(parameters P: UnsafePointer<Float>, gradient G: UnsafeMutablePointer<Float>, features: FeatureInput) {
        for l in stride(from: shapes.count - 1, through: 0, by: -1) {
            let shape = shapes[l]
            let w = P + layout.weights[l], gw = G + layout.weights[l], gb = G + layout.biases[l]
            let delta = deltas[l + 1], x = activations[l], dx = deltas[l]
            dx.update(repeating: 0, count: shape.input)
            for r in 0..<shape.output where delta[r] != 0 {
                gb[r] += delta[r]
                axpy(delta[r], x, gw + r * shape.input, shape.input)
                axpy(delta[r], w + r * shape.input, dx, shape.input)
            }
            // Through the ReLU of the layer below (its output is x).
            if l > 0 { for k in 0..<shape.input where x[k] <= 0 { dx[k] = 0 } }
        }
        for (f, spec) in layout.features.enumerated() where spec.kind == .categorical {
            axpy(1, deltas[0] + layout.featureSlots[f], G + layout.featureTables[f] + features.rows[f] * spec.dimensions, spec.dimensions)
        }
    }
}
