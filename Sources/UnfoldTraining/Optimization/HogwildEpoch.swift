import Dispatch
import UnfoldMath

/// One epoch of lock-free parallel SGD (Hogwild; Recht et al. 2011), the loop every SGD
/// trainer (mf-sgd, softmax, item2vec) runs: `count` work units, already shuffled by the
/// caller, split into contiguous ranges, one per worker thread. Each worker has its own
/// random stream derived from `seed`, and updates the shared parameters without locks:
/// examples rarely touch the same rows at once, and SGD tolerates the rare overlap.
///
/// `body(worker, range, rng)` runs once per worker and returns its summed loss and the
/// number of examples it took; the epoch returns the totals.
public func hogwildEpoch(count: Int, workers: Int, seed: UInt64,
                         _ body: (_ worker: Int, _ range: Range<Int>, _ rng: inout SplitMix64) -> (loss: Double, examples: Int)) -> (loss: Double, examples: Int) {
    let workers = max(1, workers)
    var losses = [Double](repeating: 0, count: workers)
    var examples = [Int](repeating: 0, count: workers)
    losses.withUnsafeMutableBufferPointer { lossOut in
        examples.withUnsafeMutableBufferPointer { exampleOut in
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var rng = SplitMix64(seed: seed &+ UInt64(worker) &* 0x9E37_79B9_7F4A_7C15)
                let range = (worker * count / workers)..<((worker + 1) * count / workers)
                let result = body(worker, range, &rng)
                lossOut[worker] = result.loss
                exampleOut[worker] = result.examples
            }
        }
    }
    return (losses.reduce(0, +), examples.reduce(0, +))
}
