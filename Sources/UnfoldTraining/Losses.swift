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

    /// Sampled softmax with logQ correction: logits z_0 = s⁺ − log q⁺, z_j = s_j − log q_j for the
    /// sampled negatives; L = −log softmax(z)_0; dL/ds = softmax(z) − e_0.
    public static func sampledSoftmax(positive: Float, negatives: [Float], logQPositive: Float, logQNegatives: [Float]) -> (loss: Float, dPositive: Float, dNegatives: [Float]) {
        var logits = [positive - logQPositive]
        for (s, q) in zip(negatives, logQNegatives) { logits.append(s - q) }
        let m = logits.max()!
        let exps = logits.map { expf($0 - m) }
        let sum = exps.reduce(0, +)
        let loss = -(logits[0] - m - logf(sum))
        let p = exps.map { $0 / sum }
        return (loss, p[0] - 1, Array(p.dropFirst()))
    }
}
