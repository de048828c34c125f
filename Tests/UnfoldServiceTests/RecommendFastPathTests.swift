import XCTest
@testable import UnfoldService

final class RecommendFastPathTests: XCTestCase {
    /// Every body the fast decoder accepts decodes to what the general parser makes of it.
    func testAcceptedBodiesDecodeLikeTheGeneralParser() throws {
        let bodies = [
            #"{"interactions":[{"item":"50","weight":5},{"item":"181"},{"item":"7","weight":2,"timestamp":1700000000}],"k":3}"#,
            "{ \"interactions\" : [ { \"item\" : 50 , \"weight\" : 1e2 } ,\n {\"weight\":0.25,\"item\":\"a b\"} ] ,\t\"k\" : 1000 , \"model\" : \"mf-sgd\" , \"exclude_seen\" : false }",
            #"{"interactions":[{"item":0,"weight":-0},{"item":123456789012345,"weight":1000000}]}"#,
            #"{"interactions":[]}"#,
            #"{}"#,
            #"{"k":10,"exclude_seen":true,"model":"wals"}"#,
        ]
        for text in bodies {
            let body = Array(text.utf8)
            let fast = try XCTUnwrap(FastRecommendBody.decode(body), text)
            let general = try RecommendRequest(body: body)
            XCTAssertEqual(fast.items.indices.map { fast.id($0, in: body) }, general.interactions.map(\.item), text)
            XCTAssertEqual(fast.weights, general.interactions.map(\.weight), text)
            XCTAssertEqual(fast.k, general.query.k, text)
            XCTAssertEqual(fast.excludeSeen, general.query.excludeSeen, text)
            XCTAssertEqual(fast.model, general.model, text)
        }
    }

    /// Everything outside the common shape goes to the general parser (which then accepts
    /// it or answers with its precise error).
    func testEverythingElseFallsBack() {
        let bodies = [
            #"{"interactions":[{"item":"50"}],"exclude":["1"]}"#,      // another field
            #"{"interactions":[{"item":"5\"0"}]}"#,                    // an escape
            #"{"interactions":[{"item":"café"}]}"#,                     // non-ASCII
            #"{"k":3,"k":4}"#,                                          // a repeated field
            #"{"interactions":null}"#,
            #"{"interactions":[{"item":5.0}]}"#,
            #"{"interactions":[{"item":"05"},{"item":05}]}"#,
            #"{"interactions":[{"item":"1","weight":-1}]}"#,
            #"{"interactions":[{"item":"1","weight":null}]}"#,
            #"{"interactions":[{"item":""}]}"#,
            #"{"interactions":[{"weight":1}]}"#,
            #"{"k":0}"#,
            #"{"k":2.5}"#,
            #"{"k":01}"#,
            #"{} x"#,
            #"{"interactions":[{"item":"1"}"#,
            #"[]"#,
            "",
        ]
        for text in bodies { XCTAssertNil(FastRecommendBody.decode(Array(text.utf8)), text) }
    }
}

/// Inputs schemathesis found: numbers too large for an id or for the message are refused
/// with a 400, never a crash.
final class RecommendRequestLimitsTests: XCTestCase {
    func testHugeIntegersAreRefusedNotTrapped() {
        for body in [#"{"exclude":[130424321745676156928]}"#, #"{"include":[-1e16]}"#, #"{"categories":[1e300]}"#] {
            XCTAssertThrowsError(try RecommendRequest(body: Array(body.utf8)), body) { error in
                guard case .badRequest(let message) = error as? RequestError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("at most 15 digits"), message)
            }
        }
        XCTAssertThrowsError(try RecommendRequest(body: Array(#"{"k":1e30}"#.utf8))) { error in
            XCTAssertEqual(error as? RequestError, .badRequest("k must be an integer between 1 and 1000, got 1e+30"))
        }
    }
}
