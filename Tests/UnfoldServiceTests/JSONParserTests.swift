import XCTest
@testable import UnfoldService

final class JSONParserTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func testValues() throws {
        XCTAssertEqual(try parse(#" {"a": [1, -2.5e3, true, false, null, "x"], "b": {}} "#),
                       .object(["a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]), "b": .object([:])]))
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("0"), .number(0))
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#), .string("a\"b\\c/d\n\té😀"))
        XCTAssertEqual(try parse("\"caf\u{e9}\""), .string("café"))
    }

    func testRejections() {
        let bad = ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "+1", "1e", "tru", "nul", "\"abc", "\"a\u{01}b\"",
                   "\"\\x\"", "\"\\ud83d\"", "{\"a\" 1}", "{a:1}", "[1 2]", "1 2", "{\"a\":1,\"a\":2}", "1e999", "\"\\u12\""]
        for text in bad {
            XCTAssertThrowsError(try parse(text), text) { error in
                guard case .badRequest(let message) = error as? RequestError else { return XCTFail("\(error)") }
                XCTAssertTrue(message.hasPrefix("body is not valid JSON: "), message)
                XCTAssertTrue(message.contains("at byte"), message)
            }
        }
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22]), "invalid UTF-8")
    }

    func testNestingIsBounded() {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try parse(deep)) { error in
            XCTAssertTrue("\(error)".contains("nested deeper than 64"))
        }
    }
}
