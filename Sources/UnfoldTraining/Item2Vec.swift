import Dispatch
import Foundation
import UnfoldData
import UnfoldMath

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
    public struct Parameters: Sendable {
        public var factors = 64
        public var window = 5
        public var epochs = 5
        public var negatives = 5
        public var learningRate: Float = 0.025
        public var subsample = 1e-3
        public var walksPerItem = 0
        public var walkLength = 20
        public var threads = defaultThreadCount
        public var seed: UInt64 = 42
        public init() {}

        public var dictionary: [String: Double] {
            ["factors": Double(factors), "window": Double(window), "epochs": Double(epochs), "negatives": Double(negatives),
             "learning_rate": Double(learningRate), "subsample": subsample, "walks_per_item": Double(walksPerItem),
             "walk_length": Double(walkLength), "threads": Double(threads), "seed": Double(seed)]
        }
    }

    public struct Epoch: Sendable {
        public var epoch: Int
        public var of: Int
        public var loss: Double
        public var seconds: Double
        /// Stable rank of the item (input) vectors after the epoch (untimed).
        public var itemStableRank: Float
    }

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

    /// Trains and returns the input vectors (the item table).
    public static func train(sequences base: [[Int32]], items: Int, _ p: Parameters, onEpoch: (Epoch) -> Void = { _ in }) -> Matrix {
        let d = p.factors
        var sequences = base
        if p.walksPerItem > 0 {
            sequences += randomWalks(base, items: items, perItem: p.walksPerItem, length: p.walkLength, seed: p.seed &+ 3)
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
        let unigram = AliasSampler(weights: counts.map { pow($0, 0.75) + 1e-12 })
        var rng = SplitMix64(seed: p.seed)
        var input = Matrix(rows: items, cols: d)
        for k in 0..<input.storage.count { input.storage[k] = (rng.nextFloat() - 0.5) / Float(d) }
        var output = Matrix(rows: items, cols: d)
        let workers = max(1, p.threads)
        let totalWork = Double(max(p.epochs, 1) * sequences.count)

        for epoch in 1...max(p.epochs, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            var order = Array(0..<sequences.count)
            order.shuffle(using: &rng)
            let epochSeed = rng.next()
            var losses = [Double](repeating: 0, count: workers), pairs = [Int](repeating: 0, count: workers)
            input.storage.withUnsafeMutableBufferPointer { W in
                output.storage.withUnsafeMutableBufferPointer { H in
                    losses.withUnsafeMutableBufferPointer { lossOut in
                        pairs.withUnsafeMutableBufferPointer { pairOut in
                            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                                var local = SplitMix64(seed: epochSeed &+ UInt64(worker + 1) &* 0x9E37_79B9_7F4A_7C15)
                                let gradient = UnsafeMutablePointer<Float>.allocate(capacity: d)
                                defer { gradient.deallocate() }
                                var kept: [Int32] = []
                                var loss = 0.0, count = 0
                                let begin = worker * order.count / workers, end = (worker + 1) * order.count / workers
                                for position in begin..<end {
                                    let done = Double((epoch - 1) * sequences.count + position) / totalWork
                                    let lr = p.learningRate * Float(max(1e-4, 1 - done))
                                    kept.removeAll(keepingCapacity: true)
                                    for i in sequences[order[position]] where local.nextFloat() < keep[Int(i)] { kept.append(i) }
                                    for (center, c) in kept.enumerated() {
                                        let reduced = 1 + local.nextInt(below: max(p.window, 1))
                                        for other in max(0, center - reduced)...min(kept.count - 1, center + reduced) where other != center {
                                            let w = W.baseAddress! + Int(c) * d
                                            gradient.update(repeating: 0, count: d)
                                            for n in 0...p.negatives {
                                                let target = n == 0 ? Int(kept[other]) : unigram.sample(&local)
                                                if n > 0 && target == Int(kept[other]) { continue }
                                                let label: Float = n == 0 ? 1 : 0
                                                let h = H.baseAddress! + target * d
                                                let score = dot(w, h, d)
                                                let r = Losses.binaryCrossEntropy(score: score, label: label)
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
                                lossOut[worker] = loss
                                pairOut[worker] = count
                            }
                        }
                    }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            onEpoch(Epoch(epoch: epoch, of: p.epochs, loss: losses.reduce(0, +) / Double(max(pairs.reduce(0, +), 1)), seconds: seconds,
                          itemStableRank: stableRank(input)))
        }
        return input
    }
}
