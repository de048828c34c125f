import XCTest
import UnfoldMath
@testable import UnfoldData

final class InteractionReaderTests: XCTestCase {
    func read(_ text: String, format: InteractionFormat = .tsv, skip: Bool = false) throws -> InteractionReader.Result {
        try InteractionReader(skipBadLines: skip).read(bytes: Array(text.utf8), name: "test.\(format.rawValue)", format: format)
    }

    func testTSVWithHeader() throws {
        let result = try read("user\titem\tweight\ttimestamp\nu1\ti1\t2\t100\nu2\ti1\t1\t50\nu1\ti2\t0.5\t200\n")
        let data = result.interactions
        XCTAssertEqual(data.count, 3)
        XCTAssertEqual(data.users.ids, ["u1", "u2"])
        XCTAssertEqual(data.items.ids, ["i1", "i2"])
        XCTAssertEqual(data.weights, [2, 1, 0.5])
        XCTAssertEqual(data.timestamps, [100, 50, 200])
    }

    func testRecBoleAtomicHeader() throws {
        let text = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
        let data = try read(text).interactions
        XCTAssertEqual(data.users.ids, ["196", "186"])
        XCTAssertEqual(data.weights, [3, 3])
        XCTAssertEqual(data.timestamps?.first, 881250949)
    }

    func testHeaderInAnotherOrderAndNoHeader() throws {
        let reordered = try read("timestamp,item,user\n5,i9,u3\n", format: .csv).interactions
        XCTAssertEqual(reordered.users.ids, ["u3"])
        XCTAssertEqual(reordered.items.ids, ["i9"])
        XCTAssertEqual(reordered.weights, [1])
        let plain = try read("1\t10\n2\t20\n").interactions
        XCTAssertEqual(plain.items.ids, ["10", "20"])
        XCTAssertNil(plain.timestamps)
    }

    func testCSVQuotesAndCRLF() throws {
        let data = try read("user,item,weight\r\n\"a b\",\"x\",3\r\n", format: .csv).interactions
        XCTAssertEqual(data.users.ids, ["a b"])
        XCTAssertEqual(data.weights, [3])
    }

    func testJSONLines() throws {
        let text = """
        {"user": "u1", "item": 7, "weight": 2, "timestamp": 10}
        {"user": 2, "item": "i8"}
        """
        let data = try read(text, format: .jsonl).interactions
        XCTAssertEqual(data.users.ids, ["u1", "2"])
        XCTAssertEqual(data.items.ids, ["7", "i8"])
        XCTAssertEqual(data.weights, [2, 1])
        XCTAssertEqual(data.timestamps, [10, 0])
    }

    func testBadLineNamesFileAndLine() {
        XCTAssertThrowsError(try read("user\titem\tweight\nu1\ti1\t1\nu2\ti2\tlots\n")) { error in
            XCTAssertEqual(error as? DataError, .badLine(path: "test.tsv", line: 3, reason: "weight 'lots' is not a non-negative number"))
        }
        XCTAssertThrowsError(try read("user\titem\nu1\n")) { error in
            XCTAssertEqual((error as? DataError)?.description.hasPrefix("test.tsv:2: expected at least 2"), true)
        }
        XCTAssertThrowsError(try read("{\"user\": \"a\"}\n", format: .jsonl)) { error in
            XCTAssertEqual(error as? DataError, .badLine(path: "test.jsonl", line: 1, reason: "missing \"item\""))
        }
        XCTAssertThrowsError(try read("user\titem\tweight\nu1\ti1\t-1\n"))
    }

    func testSkipBadLinesCountsThem() throws {
        let result = try read("user\titem\tweight\nu1\ti1\t1\nbroken\nu2\ti2\tNaN\nu3\ti3\t1\n", skip: true)
        XCTAssertEqual(result.interactions.count, 2)
        XCTAssertEqual(result.skippedLines, 2)
        XCTAssertEqual(result.skippedExamples.count, 2)
    }

    func testHeaderWithoutItemColumnIsRejected() {
        XCTAssertThrowsError(try read("user\tthing\nu\tt\n")) { error in
            guard case .badHeader = error as? DataError else { return XCTFail("\(error)") }
        }
    }

    func testEmptyFileIsAnError() {
        XCTAssertThrowsError(try read("user\titem\n")) { XCTAssertEqual($0 as? DataError, .empty(path: "test.tsv")) }
    }

    func testGzipIsDetectedByContent() throws {
        let text = Array("user\titem\nu1\ti1\nu1\ti2\n".utf8)
        let compressed = try Gzip.compress(text)
        let data = try InteractionReader().read(bytes: compressed, name: "x.tsv", format: .tsv).interactions
        XCTAssertEqual(data.count, 2)
    }

    func testWriterRoundTrip() throws {
        let original = try read("user\titem\tweight\ttimestamp\nu1\ti1\t2\t100\nu2\ti1\t0.5\t50\n").interactions
        let again = try InteractionReader().read(bytes: InteractionWriter.tsv(original), name: "w.tsv", format: .tsv).interactions
        XCTAssertEqual(again, original)
    }

    func testFileOnDiskAndMissingFile() throws {
        let path = NSTemporaryDirectory() + "unfold-reader-\(UUID().uuidString).tsv.gz"
        try Data(Gzip.compress(Array("u\ti\n".utf8))).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try InteractionReader().read(path: path).interactions.count, 1)
        XCTAssertThrowsError(try InteractionReader().read(path: "/nonexistent.tsv")) { error in
            XCTAssertEqual(error as? DataError, .unreadable(path: "/nonexistent.tsv", reason: "no such file"))
        }
    }

    /// The in-place parallel reader (TSV, CSV) reads exactly what the line-by-line reader
    /// reads — the same id maps in the same order, weights, timestamps — for every layout,
    /// and leaves whatever it does not read the same way to that reader (same errors).
    func testTheFastReaderEqualsTheLineByLineReader() throws {
        var rng = SplitMix64(seed: 11)
        var big = "user\titem\tweight\ttimestamp\n"
        for k in 0..<80_000 {
            let user = "u\(rng.next() % 3000)", item = rng.next() % 7 == 0 ? "item-with-a-long-identifier-\(rng.next() % 500)" : "i\(rng.next() % 900)"
            let weight = ["1", "2", "5", "2.5", "0.125", "1e-3", "+3", "7."][Int(rng.next() % 8)]
            big += "\(user)\t\(item)\t\(weight)\t\(1_600_000_000 + k)\(k % 5 == 0 ? "\r" : "")\n"
            if k % 9973 == 0 { big += "# a comment\n\n" }
        }
        let cases: [(String, InteractionFormat)] = [
            (big, .tsv),
            ("u1\ti1\t2\t100\nu2\ti1\t1\t50\nu1\ti2\n", .tsv),           // no header, timestamps from the first line's width
            ("u1\ti1\nu2\ti1\t3\n", .tsv),                                     // no header, no timestamps
            ("timestamp,item_id,user_id\n5,\"a\",\"b\"\n6,a,c\n", .csv),     // header in another order, quoted fields
            ("user\titem\n\u{e9}t\u{e9}\tcaf\u{e9}\n", .tsv),
            (String(decoding: [0x75, 0x09, 0x63, 0x61, 0x66, 0xE9, 0x0A], as: UTF8.self), .tsv),
        ]
        for (text, format) in cases {
            let bytes = Array(text.utf8)
            let fast = try XCTUnwrap(bytes.withUnsafeBytes { FastDelimitedReader.parse($0, format: format, path: "x", threads: 2) }, String(text.prefix(60)))
            let slow = try bytes.withUnsafeBytes { try InteractionReader().readLines($0, name: "x", format: format) }.interactions
            XCTAssertEqual(fast, slow, String(text.prefix(60)))
        }
        // Latin-1 bytes that are not UTF-8 decode the same way.
        let latin1: [UInt8] = Array("user\titem\n".utf8) + [0x75, 0x09, 0x63, 0x61, 0x66, 0xE9, 0x0A]
        XCTAssertEqual(latin1.withUnsafeBytes { FastDelimitedReader.parse($0, format: .tsv, path: "x") }, try latin1.withUnsafeBytes { try InteractionReader().readLines($0, name: "x", format: .tsv) }.interactions)
        // What the fast reader does not take goes to the line-by-line reader: the same errors.
        for bad in ["u\ti\t-1\n", "u\ti\tinf\n", "u\t\t1\n", "u\n", "u\ti\t1\tnoon\n", "u\ti\t 2\n"] {
            let bytes = Array(bad.utf8)
            XCTAssertNil(bytes.withUnsafeBytes { FastDelimitedReader.parse($0, format: .tsv, path: "x") }, bad)
            XCTAssertThrowsError(try InteractionReader().read(bytes: bytes, name: "x", format: .tsv), bad)
        }
        // A file on disk is read through a memory map, with the same result.
        let path = NSTemporaryDirectory() + "unfold-fast-\(UUID().uuidString).tsv"
        try Data(big.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try InteractionReader().read(path: path).interactions, try Array(big.utf8).withUnsafeBytes { try InteractionReader().readLines($0, name: path, format: .tsv) }.interactions)
    }
}
