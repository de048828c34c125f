import XCTest
import UnfoldMath
@testable import UnfoldData

/// A gzip file is inflated a block at a time while the previous block is parsed. With 4 KiB
/// blocks lines straddle block boundaries, and every read must equal the plain file's: the
/// same ids in the same order, records, errors and line numbers.
final class GzipStreamingTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "unfold-gzip-\(UUID().uuidString)/"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func reader(skipBadLines: Bool = false, maxBytes: Int = 8 << 30) -> InteractionReader {
        var reader = InteractionReader(skipBadLines: skipBadLines, maxBytes: maxBytes)
        reader.gzipBlockSize = 4096
        return reader
    }

    /// `text` written plain and gzip-compressed, as `members` gzip members cut at arbitrary bytes.
    private func write(_ text: String, name: String, members: Int = 1) throws -> (plain: String, gzip: String) {
        let bytes = Array(text.utf8)
        var compressed: [UInt8] = []
        for m in 0..<members {
            compressed += try Gzip.compress(Array(bytes[bytes.count * m / members..<bytes.count * (m + 1) / members]))
        }
        let plain = directory + name, gzip = directory + name + ".gz"
        try Data(bytes).write(to: URL(fileURLWithPath: plain))
        try Data(compressed).write(to: URL(fileURLWithPath: gzip))
        return (plain, gzip)
    }

    /// Records with a header, short and long ids, decimal weights, CRLF, comments and empty
    /// lines, and an id longer than a block.
    private func sampleLines(_ count: Int, separator: String = "\t") -> [String] {
        var rng = SplitMix64(seed: 5)
        var lines = ["user\(separator)item\(separator)weight\(separator)timestamp"]
        let longID = String(repeating: "x", count: 10_000)
        for k in 0..<count {
            let user = "u\(rng.next() % 700)", item = rng.next() % 9 == 0 ? "item-with-a-long-identifier-\(rng.next() % 300)" : "i\(rng.next() % 400)"
            let weight = ["1", "2", "2.5", "0.125", "1e-3", "7."][Int(rng.next() % 6)]
            lines.append([user, k == 5000 ? longID : item, weight, "\(1_600_000_000 + k)"].joined(separator: separator) + (k % 7 == 0 ? "\r" : ""))
            if k % 997 == 0 { lines += ["# a comment", ""] }
        }
        return lines
    }

    private func text(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }

    func testAFileOfManyBlocksReadsAsThePlainFile() throws {
        let lines = sampleLines(12_000)
        let (plain, gzip) = try write(text(lines), name: "many.tsv")
        let expected = try reader().read(path: plain).interactions
        XCTAssertEqual(expected.count, 12_000)
        XCTAssertEqual(try reader().read(path: gzip).interactions, expected)

        // Through the fast path, block by block (not the line-by-line fallback).
        let compressed = try Array(Data(contentsOf: URL(fileURLWithPath: gzip)))
        var fast = FastDelimitedReader(format: .tsv, path: gzip, threads: 2)
        var blocks = 0
        let complete = try compressed.withUnsafeBytes { raw in
            try InflatedBlocks(gzip: raw, name: gzip, blockSize: 4096).forEach { (block, expectedBytes) throws(DataError) in
                blocks += 1
                return fast.parse(block, expectedBytes: expectedBytes)
            }
        }
        XCTAssertTrue(complete)
        XCTAssertGreaterThan(blocks, 50)
        XCTAssertEqual(fast.finish(), expected)

        // CSV, and a text that starts with more than a block of comments, without a final newline.
        let csv = sampleLines(3000, separator: ",")
        let (plainCSV, gzipCSV) = try write(text(csv), name: "many.csv")
        XCTAssertEqual(try reader().read(path: gzipCSV).interactions, try reader().read(path: plainCSV).interactions)
        let commented = Array(repeating: "# a comment line before any data", count: 300) + lines.prefix(2000)
        let (plainCommented, gzipCommented) = try write(commented.joined(separator: "\n"), name: "commented.tsv")
        XCTAssertEqual(try reader().read(path: gzipCommented).interactions, try reader().read(path: plainCommented).interactions)
    }

    func testJSONLinesStreamThroughTheLineByLineReader() throws {
        var rng = SplitMix64(seed: 9)
        let lines = (0..<3000).map { k in "{\"user\": \"u\(rng.next() % 200)\", \"item\": \(rng.next() % 90), \"weight\": 1.5, \"timestamp\": \(k)}" }
        let (plain, gzip) = try write(text(lines), name: "events.jsonl", members: 3)
        let expected = try reader().read(path: plain).interactions
        XCTAssertEqual(expected.count, 3000)
        XCTAssertEqual(try reader().read(path: gzip).interactions, expected)
    }

    func testABadLineInTheThirdBlockIsReportedAsInThePlainFile() throws {
        var lines = sampleLines(2000)
        // The first line to start past 2.2 blocks.
        var offset = 0, bad = 0
        while offset < 9000 {
            offset += lines[bad].utf8.count + 1
            bad += 1
        }
        lines[bad] = "u1\ti1\t-1\t100"
        let (plain, gzip) = try write(text(lines), name: "bad.tsv")
        let reason = "weight '-1' is not a non-negative number"
        XCTAssertThrowsError(try reader().read(path: plain)) { XCTAssertEqual($0 as? DataError, .badLine(path: plain, line: bad + 1, reason: reason)) }
        XCTAssertThrowsError(try reader().read(path: gzip)) { XCTAssertEqual($0 as? DataError, .badLine(path: gzip, line: bad + 1, reason: reason)) }

        // Skipped, it is counted the same way.
        let skippedPlain = try reader(skipBadLines: true).read(bytes: Array(text(lines).utf8), name: "bad.tsv", format: .tsv)
        let skippedGzip = try reader(skipBadLines: true).read(bytes: try Gzip.compress(Array(text(lines).utf8)), name: "bad.tsv", format: .tsv)
        XCTAssertEqual(skippedGzip.skippedLines, 1)
        XCTAssertEqual(skippedGzip.skippedExamples, skippedPlain.skippedExamples)
        XCTAssertEqual(skippedGzip.interactions, skippedPlain.interactions)

        // A number only the line-by-line reader takes (hex) sends the whole stream to it.
        lines[bad] = "u1\ti1\t0x10\t100"
        let (plainHex, gzipHex) = try write(text(lines), name: "hex.tsv")
        let expected = try reader().read(path: plainHex).interactions
        let recordsBefore = lines[1..<bad].filter { !$0.isEmpty && !$0.hasPrefix("#") }.count
        XCTAssertEqual(expected.weights[recordsBefore], 16)
        XCTAssertEqual(try reader().read(path: gzipHex).interactions, expected)
    }

    func testConcatenatedMembersAreOneText() throws {
        let lines = sampleLines(4000)
        let (plain, gzip) = try write(text(lines), name: "members.tsv", members: 5)
        XCTAssertEqual(try reader().read(path: gzip).interactions, try reader().read(path: plain).interactions)
    }

    func testATruncatedStreamIsAnErrorNamingTheFile() throws {
        var lines = sampleLines(4000)
        let (_, gzip) = try write(text(lines), name: "cut.tsv")
        let compressed = try Data(contentsOf: URL(fileURLWithPath: gzip))
        for kept in [compressed.count - 4, compressed.count / 2] {
            try compressed.prefix(kept).write(to: URL(fileURLWithPath: gzip))
            XCTAssertThrowsError(try reader().read(path: gzip)) {
                XCTAssertEqual($0 as? DataError, .unreadable(path: gzip, reason: "gzip: gzip stream is truncated"))
            }
        }
        // The stream's error wins over a bad line before the cut, as when it was inflated whole first.
        lines[3] = "u1\ti1\t-1\t100"
        let (_, badGzip) = try write(text(lines), name: "cut-bad.tsv")
        try Data(contentsOf: URL(fileURLWithPath: badGzip)).dropLast(4).write(to: URL(fileURLWithPath: badGzip))
        XCTAssertThrowsError(try reader().read(path: badGzip)) {
            XCTAssertEqual($0 as? DataError, .unreadable(path: badGzip, reason: "gzip: gzip stream is truncated"))
        }
    }

    func testTheInflatedSizeIsLimited() throws {
        let text = text(sampleLines(4000))
        let (_, gzip) = try write(text, name: "limit.tsv")
        let limit = text.utf8.count - 1
        XCTAssertThrowsError(try reader(maxBytes: limit).read(path: gzip)) {
            XCTAssertEqual($0 as? DataError, .unreadable(path: gzip, reason: "gzip: decompressed data larger than \(limit) bytes"))
        }
        XCTAssertEqual(try reader(maxBytes: limit + 1).read(path: gzip).interactions.count, 4000)
    }
}
