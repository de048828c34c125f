import XCTest
import UnfoldMath
import UnfoldModels
@testable import UnfoldServing

final class ExplanationTests: XCTestCase {
    func bag(_ pairs: [(Int32, Float)]) -> ItemBag {
        var bag = ItemBag()
        for (i, w) in pairs { bag.add(i, weight: w) }
        return bag
    }

    /// Fold-in's decomposition is exact: the contributions sum to the served score, for
    /// every item, dislikes included (they contribute nothing directly).
    func testFoldInContributionsSumToTheScore() throws {
        let served = Fixtures.served()
        let history = bag([(0, 1), (2, 3), (5, 1), (6, -1)])
        let result = try Recommender.recommend(RecommendQuery(k: 4), posted: PostedItems(bag: history), with: served)
        XCTAssertEqual(result.source, .model)
        let explanation = try XCTUnwrap(Explanation.explain(result.items, bag: history, features: .none, with: served))
        XCTAssertTrue(explanation.exact)
        for (n, item) in result.items.enumerated() {
            let parts = explanation.contributions[n]
            XCTAssertEqual(parts.count, 4)
            XCTAssertEqual(parts.reduce(0) { $0 + $1.contribution }, item.score, accuracy: 1e-4 * max(1, abs(item.score)), "item \(item.index)")
            XCTAssertEqual(parts.first { $0.index == 6 }?.contribution, 0, "a dislike adds nothing to b")
            XCTAssertEqual(parts.map(\.contribution), parts.map(\.contribution).sorted(by: >), "largest first")
        }
    }

    func testMeanPoolingIsExact() throws {
        let pooled = Fixtures.served(Fixtures.model(encoder: .meanPooling, kind: .item2vec))
        let history = bag([(0, 1), (4, 3)])
        let result = try Recommender.recommend(RecommendQuery(k: 3), posted: PostedItems(bag: history), with: pooled)
        let explanation = try XCTUnwrap(Explanation.explain(result.items, bag: history, features: .none, with: pooled))
        XCTAssertTrue(explanation.exact)
        for (n, item) in result.items.enumerated() {
            XCTAssertEqual(explanation.contributions[n].reduce(0) { $0 + $1.contribution }, item.score, accuracy: 1e-5)
        }
    }
}
