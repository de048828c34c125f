import Foundation

/// Loss functions of scores, each returning the loss and its gradient with respect to the
/// scores it was given. The trainers chain these gradients into the embeddings.
public enum Losses {
    @inlinable static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

    /// log(1 + e^x), without overflow.
    @inlinable static func softplus(_ x: Float) -> Float { x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)) }

    /// BPR (Rendle et al. 2009): L = −log σ(s⁺ − s⁻) = softplus(s⁻ − s⁺).
    public static func bpr(positive: Float, negative: Float) -> (loss: Float, dPositive: Float, dNegative: Float) {
        let x = positive - negative
        let g = sigmoid(-x)  // 1 − σ(x)
        return (softplus(-x), -g, g)
    }

    /// Binary cross-entropy on a logit: L = −[y log σ(s) + (1−y) log(1−σ(s))]; dL/ds = σ(s) − y.
    public static func binaryCrossEntropy(score: Float, label: Float) -> (loss: Float, dScore: Float) {
        (softplus(score) - label * score, sigmoid(score) - label)
    }

    /// Sampled softmax with logQ correction, in place: `logits` holds z_0 = s⁺ − log q⁺ (the
    /// positive) then z_j = s_j − log q_j (the sampled negatives); on return it holds
    /// dL/dz = softmax(z) − e_0. Returns L = −log softmax(z)_0. The one definition both
    /// mf-sgd and the softmax DNN train with.
    public static func sampledSoftmax(logits z: UnsafeMutableBufferPointer<Float>) -> Float {
        var m = -Float.infinity
        for v in z { m = max(m, v) }
        var sum: Float = 0
        for k in z.indices {
            z[k] = expf(z[k] - m)
            sum += z[k]
        }
        let loss = -logf(max(z[0] / sum, 1e-30))
        for k in z.indices { z[k] /= sum }
        z[0] -= 1
        return loss
    }

    /// The same for scores and log q's given apart (tests).
    public static func sampledSoftmax(positive: Float, negatives: [Float], logQPositive: Float, logQNegatives: [Float]) -> (loss: Float, dPositive: Float, dNegatives: [Float]) {
        var logits = [positive - logQPositive]
        for (s, q) in zip(negatives, logQNegatives) { logits.append(s - q) }
        let loss = logits.withUnsafeMutableBufferPointer { sampledSoftmax(logits: $0) }
        return (loss, logits[0], Array(logits.dropFirst()))
    }
}
