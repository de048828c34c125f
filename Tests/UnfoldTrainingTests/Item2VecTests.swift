import XCTest
import UnfoldData
import UnfoldMath
import UnfoldModels
@testable import UnfoldTraining

final class Item2VecTests: XCTestCase {
    /// Planted pairs of substitutes: a user's sequence dwells on one pair at a time, its two
    /// items in random order, then moves to another pair. Items 2k and 2k+1 share their
    /// contexts, so skip-gram should make each the other's nearest neighbour.
    func plantedPairs(pairs: Int = 40, users: Int = 400, seed: UInt64 = 5) -> Interactions {
        var data = Interactions(hasTimestamps: true)
        var rng = SplitMix64(seed: seed)
        var t = 0.0
        for u in 0..<users {
            for _ in 0..<3 {
                let pair = rng.nextInt(below: pairs)
                for _ in 0..<6 {
                    data.append(user: "u\(u)", item: "i\(2 * pair + rng.nextInt(below: 2))", weight: 1, timestamp: t)
                    t += 1
                }
            }
        }
        return data
    }

    func testRecoversPlantedPairs() {
        let data = plantedPairs()
        var p = Item2VecParameters()
        p.factors = 16
        p.window = 2
        p.epochs = 10
        p.subsample = 0
        p.negatives = 5
        p.learningRate = 0.025
        var losses: [Double] = []
        let vectors = Item2Vec.train(sequences: Item2Vec.sequences(data), items: data.items.count, p, threads: 2) { losses.append($0.loss) }.items
        XCTAssertLessThan(losses.last!, losses.first!)
        let table = ItemTable(ids: data.items.ids, vectors: vectors)
        let neighbours = NeighbourLists.cosine(table, k: 1, threads: 1)
        var recovered = 0
        for pair in 0..<40 {
            guard let a = data.items.index(of: "i\(2 * pair)"), let b = data.items.index(of: "i\(2 * pair + 1)") else { continue }
            if neighbours.indices[Int(a)] == b { recovered += 1 }
        }
        XCTAssertGreaterThanOrEqual(recovered, 32, "\(recovered) of 40 planted pairs recovered")
    }

    func testSequencesAreOrderedByTime() {
        var data = Interactions(hasTimestamps: true)
        data.append(user: "u", item: "b", weight: 1, timestamp: 20)
        data.append(user: "u", item: "a", weight: 1, timestamp: 10)
        data.append(user: "v", item: "a", weight: 1, timestamp: 5)
        let sequences = Item2Vec.sequences(data)
        XCTAssertEqual(sequences.count, 1, "a single interaction makes no sequence")
        XCTAssertEqual(sequences[0].map { data.items[$0] }, ["a", "b"])
    }

    func testRandomWalksFollowTheTransitionGraph() {
        let walks = Item2Vec.randomWalks([[0, 1, 2], [2, 3]], items: 4, perItem: 2, length: 5, seed: 1)
        XCTAssertEqual(walks.count, 6, "items 0, 1 and 2 have outgoing edges")
        let edges: Set<[Int32]> = [[0, 1], [1, 2], [2, 3]]
        for walk in walks { for (a, b) in zip(walk, walk.dropFirst()) { XCTAssertTrue(edges.contains([a, b]), "\(walk)") } }
    }
}
