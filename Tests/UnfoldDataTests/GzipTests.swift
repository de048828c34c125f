import XCTest
@testable import UnfoldData

final class GzipTests: XCTestCase {
    func testRoundTrip() throws {
        let text = Array(String(repeating: "unfold recommends items; ", count: 500).utf8)
        let compressed = try Gzip.compress(text)
        XCTAssertTrue(Gzip.isGzip(compressed))
        XCTAssertLessThan(compressed.count, text.count / 10)
        XCTAssertEqual(try Gzip.decompress(compressed), text)
    }

    func testConcatenatedMembers() throws {
        let a = try Gzip.compress(Array("hello ".utf8)), b = try Gzip.compress(Array("world".utf8))
        XCTAssertEqual(try Gzip.decompress(a + b), Array("hello world".utf8))
    }

    func testTruncatedAndOversizedInputsFail() throws {
        let compressed = try Gzip.compress(Array(repeating: 7, count: 100_000))
        XCTAssertThrowsError(try Gzip.decompress(Array(compressed.dropLast(10))))
        XCTAssertThrowsError(try Gzip.decompress(compressed, maxBytes: 1000)) { error in
            XCTAssertEqual(error as? Gzip.Error, .tooLarge(limit: 1000))
        }
        XCTAssertThrowsError(try Gzip.decompress(Array("not gzip at all".utf8)))
    }

}
