import XCTest
@testable import UnfoldServing

final class ItemIDIndexTests: XCTestCase {
    func testItemIDIndexFindsEveryIDByItsBytes() {
        let ids = (0..<5000).map { "item-\($0 * 7919 % 100_003)" } + ["", "é", "a b"]
        let index = ItemIDIndex(ids: ids)
        for (i, id) in ids.enumerated() {
            let found = Array(id.utf8).withUnsafeBytes { index.index(of: $0) }
            XCTAssertEqual(found, i, id)
        }
        for missing in ["item-x", "item-", "items-1", "ITEM-7919"] {
            XCTAssertNil(Array(missing.utf8).withUnsafeBytes { index.index(of: $0) }, missing)
        }
    }

    func testStringLookupMatchesByteLookup() {
        let index = ItemIDIndex(ids: ["50", "181", "é"])
        XCTAssertEqual(index.index(of: "181"), 1)
        XCTAssertEqual(index.index(of: "é"), 2)
        XCTAssertNil(index.index(of: "18"))
    }
}
