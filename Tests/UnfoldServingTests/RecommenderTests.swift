import XCTest
import UnfoldMath
import UnfoldModels
@testable import UnfoldServing

final class RecommenderTests: XCTestCase {
    let model = Fixtures.served()

    func recommend(_ items: [(String, Float)], _ query: RecommendQuery = RecommendQuery(k: 3)) throws -> Recommendation {
        try Recommender.recommend(query, posted: model.resolve(items.map { (item: $0.0, weight: $0.1) }), with: model)
    }

    func ids(_ r: Recommendation) -> [String] { r.items.map { model.id($0.index) } }

    func testEncodesRetrievesAndExcludesWhatWasPosted() throws {
        let r = try recommend([("i0", 1), ("i1", 1)])
        XCTAssertEqual(r.source, .model)
        XCTAssertEqual(ids(r), ["i3", "i2", "i7"], "the rest of the group first, posted items excluded")
        // Scores are exact inner products with the encoder's query.
        let q = try XCTUnwrap(Recommender.encode(ItemBag(distinct: [0, 1], weights: [1, 1]), features: .none, with: model))
        for (index, score) in r.items {
            XCTAssertEqual(score, dot(model.model.items.row(index), q, 2), accuracy: 1e-6)
        }
    }

    func testFiltersApplyToModelAndPopularAnswersAlike() throws {
        XCTAssertEqual(ids(try recommend([("i0", 1)], RecommendQuery(k: 3, exclude: ["i3"]))), ["i2", "i1", "i7"])
        XCTAssertEqual(ids(try recommend([("i0", 1)], RecommendQuery(k: 3, include: ["i5", "i6", "i1"]))), ["i1", "i6", "i5"])
        XCTAssertEqual(ids(try recommend([("i0", 1)], RecommendQuery(k: 3, categories: ["b"]))), ["i3", "i1", "i7"])
        XCTAssertEqual(ids(try recommend([("i0", 1)], RecommendQuery(k: 8, excludeSeen: false))).first, "i3")
        XCTAssertTrue(ids(try recommend([("i0", 1)], RecommendQuery(k: 8, excludeSeen: false))).contains("i0"), "exclude_seen false keeps posted items")
        // Nothing to encode: the most popular items, filtered the same way.
        let popular = try recommend([], RecommendQuery(k: 3, exclude: ["i0"], categories: ["a"]))
        XCTAssertEqual(popular.source, .popular)
        XCTAssertEqual(ids(popular), ["i2", "i4", "i6"])
        XCTAssertEqual(popular.items.map(\.score), [6, 4, 2], "a popular answer scores by interaction count")
    }

    func testUnknownItemsAreReportedAndAnUnknownOnlyQueryIsPopular() throws {
        let r = try recommend([("nope", 1), ("zzz", 2)])
        XCTAssertEqual(r.source, .popular)
        XCTAssertEqual(r.unknownItems, ["nope", "zzz"])
        XCTAssertEqual(ids(r), ["i0", "i1", "i2"])
    }

    func testAFoldInThatCannotBeSolvedFallsBackToPopularity() throws {
        // λ = 0 and w0 = 0: one item leaves the 2×2 system singular.
        let items = Matrix(rows: 8, cols: 2, storage: (0..<16).map { Float($0 % 2) })
        let singular = Fixtures.served(Fixtures.model(encoder: .foldIn(FoldIn(items: items, alpha: 1, unobservedWeight: 0, regularization: 0))))
        let r = try Recommender.recommend(RecommendQuery(k: 2), posted: singular.resolve([(item: "i0", weight: Float(1))]), with: singular)
        XCTAssertEqual(r.source, .popular)
        XCTAssertEqual(r.items.map { singular.id($0.index) }, ["i1", "i2"])
    }

    func testFeaturesAModelDoesNotKnowAreTheCallersError() {
        XCTAssertThrowsError(try recommend([("i0", 1)], RecommendQuery(k: 3, features: ["age": .number(3)]))) {
            XCTAssertEqual($0 as? FeatureError, .unknown(name: "age", known: []))
        }
    }

    func testSimilarUsesTheListsThenScans() {
        let listed = Recommender.similar(to: 0, k: 3, with: model)
        XCTAssertEqual(listed.map(\.index), model.model.neighbours.of(0).map(\.index))
        let scanned = Recommender.similar(to: 0, k: 5, with: model)
        XCTAssertEqual(Array(scanned.map(\.index).prefix(3)), listed.map(\.index), "past the stored lists, a cosine scan that agrees with them")
        XCTAssertFalse(scanned.contains { $0.index == 0 })
    }

    func testResponseTextIsEscapedOnce() {
        var out: [UInt8] = []
        let escaped = ItemResponseText(ids: ["a\"b", "c"], titles: ["T\n", nil])
        escaped.appendList([(0, 1.5), (1, 0)], to: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), #"[{"id":"a\"b","score":1.5,"title":"T\n"},{"id":"c","score":0.0}]"#)
    }
}
