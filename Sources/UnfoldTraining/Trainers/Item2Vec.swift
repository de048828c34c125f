import Dispatch
import Foundation
import UnfoldData
import UnfoldMath
import UnfoldModels

/// item2vec: skip-gram with negative sampling (Mikolov et al. 2013; Barkan & Koenigstein
/// 2016) over sequences of items: each user's interactions ordered by time, and optionally
/// random walks on the item-to-item transition graph.
///
/// For a center item c and a context item o within the window (a window of random size
/// 1…`window`, as word2vec does), with k negatives n drawn from unigram^0.75:
///
///     L = −log σ(w_c · h_o) − Σ_n log σ(−w_c · h_n)
///
/// w are the input vectors (the item table that is served), h the output vectors. Frequent
/// items are subsampled: an occurrence of an item with frequency f is dropped with
/// probability 1 − √(t/f). The learning rate decays linearly to 1e-4 of its start.
public enum Item2Vec {
    /// Each user's items ordered by timestamp (file order when there are none).
    public static func sequences(_ data: Interactions) -> [[Int32]] {
        var positions = [[Int]](repeating: [], count: data.users.count)
        for k in 0..<data.count { positions[Int(data.userIndex[k])].append(k) }
        return positions.compactMap { rows in
            guard rows.count > 1 else { return nil }
            let ordered = data.timestamps.map { t in rows.sorted { t[$0] < t[$1] || (t[$0] == t[$1] && $0 < $1) } } ?? rows
            return ordered.map { data.itemIndex[$0] }
        }
    }

    /// Random walks on the transition graph (an edge a→b for every consecutive pair a, b in
    /// a sequence, weighted by its count): `perItem` walks of `length` from every item with
    /// an outgoing edge.
    public static func randomWalks(_ sequences: [[Int32]], items: Int, perItem: Int, length: Int, seed: UInt64) -> [[Int32]] {
        var next = [[Int32]](repeating: [], count: items)
        for s in sequences { for (a, b) in zip(s, s.dropFirst()) where a != b { next[Int(a)].append(b) } }
        var rng = SplitMix64(seed: seed)
        var walks: [[Int32]] = []
        for start in 0..<items where !next[start].isEmpty {
            for _ in 0..<perItem {
                var walk: [Int32] = [Int32(start)]
                var current = start
                while walk.count < length, !next[current].isEmpty {
                    let step = next[current][rng.nextInt(below: next[current].count)]
                    walk.append(step)
                    current = Int(step)
                }
                walks.append(walk)
            }
        }
        return walks
    }

    /// Trains and returns the input vectors (the item table) and the epochs' records.
    public static func train(sequences base: [[Int32]], items: Int, _ p: Item2VecParameters, threads: Int = defaultThreadCount, seed: UInt64 = 42,
                             onEpoch: (EpochRecord) -> Void = { _ in }) -> (items: Matrix, epochs: [EpochRecord]) {
        let d = p.factors
        var sequences = base
        if p.walks > 0 {
            sequences += randomWalks(base, items: items, perItem: p.walks, length: p.walkLength, seed: seed &+ 3)
        }
        var counts = [Double](repeating: 0, count: items)
        for s in sequences { for i in s { counts[Int(i)] += 1 } }
        let total = max(counts.reduce(0, +), 1)
        // Keep-probability per item for subsampling (word2vec's form: √(t/f) + t/f, capped at 1).
        let keep: [Float] = counts.map { c in
            guard p.subsample > 0, c > 0 else { return 1 }
            let f = c / total
            return Float(min(1, (p.subsample / f).squareRoot() + p.subsample / f))
        }
        // Negatives from unigram^0.75, as word2vec draws them.
        let sampler = NegativeSampler(.popularity(beta: 0.75), itemCounts: counts.map(Float.init))
        var rng = SplitMix64(seed: seed)
        var input = Matrix(rows: items, cols: d)
        for k in 0..<input.storage.count { input.storage[k] = (rng.nextFloat() - 0.5) / Float(d) }
        var output = Matrix(rows: items, cols: d)
        let totalWork = Double(max(p.epochs, 1) * sequences.count)
        var records: [EpochRecord] = []

        for epoch in 1...max(p.epochs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            var order = Array(0..<sequences.count)
            order.shuffle(using: &rng)
            let epochSeed = rng.next()
            let result = input.storage.withUnsafeMutableBufferPointer { W in
                output.storage.withUnsafeMutableBufferPointer { H in
                    hogwildEpoch(count: order.count, workers: threads, seed: epochSeed) { _, range, local in
                        let gradient = UnsafeMutablePointer<Float>.allocate(capacity: d)
                        defer { gradient.deallocate() }
                        var kept: [Int32] = []
                        var loss = 0.0, count = 0
                        for position in range {
                            let done = Double((epoch - 1) * sequences.count + position) / totalWork
                            let lr = p.learningRate * Float(max(1e-4, 1 - done))
                            kept.removeAll(keepingCapacity: true)
                            for i in sequences[order[position]] where local.nextFloat() < keep[Int(i)] { kept.append(i) }
                            for (center, c) in kept.enumerated() {
                                let reduced = 1 + local.nextInt(below: max(p.window, 1))
                                for other in max(0, center - reduced)...min(kept.count - 1, center + reduced) where other != center {
                                    let w = W.baseAddress! + Int(c) * d
                                    let context = Int(kept[other])
                                    gradient.update(repeating: 0, count: d)
                                    for n in 0...p.negatives {
                                        // A negative that is the context itself is skipped, not redrawn.
                                        let target = n == 0 ? context : sampler.sample(positives: [], rng: &local) { _ in 0 }!
                                        if n > 0 && target == context { continue }
                                        let label: Float = n == 0 ? 1 : 0
                                        let h = H.baseAddress! + target * d
                                        let r = Losses.binaryCrossEntropy(score: dot(w, h, d), label: label)
                                        loss += Double(r.loss)
                                        let g = -lr * r.dScore
                                        axpy(g, h, gradient, d)
                                        axpy(g, w, h, d)
                                    }
                                    axpy(1, gradient, w, d)
                                    count += 1
                                }
                            }
                        }
                        return (loss, count)
                    }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let record = EpochRecord(epoch: epoch, loss: result.loss / Double(max(result.examples, 1)), seconds: seconds,
                                     stableRankItems: Double(stableRank(input)), stableRankUsers: nil)
            records.append(record)
            onEpoch(record)
        }
        return (input, records)
    }
}

/// item2vec as a `Trainer`: served by the weighted mean of the posted items' vectors.
struct Item2VecTrainer: Trainer {
    let p: Item2VecParameters
    var epochs: Int { p.epochs }

    func train(_ data: TrainingData, _ context: TrainingContext) throws -> TrainedModel {
        let sequences = Item2Vec.sequences(data.interactions)
        context.phase(.train, "item2vec \(sequences.count) sequences over \(data.itemCount) items")
        let result = Item2Vec.train(sequences: sequences, items: data.itemCount, p, threads: context.threads, seed: context.seed, onEpoch: context.onEpoch)
        return TrainedModel(items: result.items, encoder: .meanPooling, epochs: result.epochs, solver: "sgns")
    }
}

extension Item2VecParameters: TrainerRecipe {
    public func makeTrainer() -> any Trainer { Item2VecTrainer(p: self) }
}
