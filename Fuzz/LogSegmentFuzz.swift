// libFuzzer entry point for the interaction log's segment reader (UnfoldData/InteractionLog):
// the bytes as a segment file, read by `readAll` and repaired by `repairTail`, as written
// and with each line's CRC recomputed (so mutations reach the fields behind the checksum,
// which a fuzzer cannot forge). Never a crash; a decoded record is one `append` would
// write and survives a round trip; a repair only cuts bad records off the tail (the good
// records read the same before and after), and a repaired file needs no repair.
import Foundation
@testable import UnfoldData

private let scratch = fuzzScratch("log")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLogSegment(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    check(bytes)
    let fixed = withRecomputedChecksums(bytes)
    if fixed != bytes { check(fixed) }
    return 0
}

private func check(_ bytes: [UInt8]) {
    let path = (scratch as NSString).appendingPathComponent("segment-00000001.log")
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
    for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
        guard let record = InteractionLog.decode(line) else { continue }
        // What the reader accepts, `append` would have written, and it reads back the same.
        if let problem = InteractionLog.problem(with: record) { fatalError("decoded a record append refuses: \(problem)") }
        let encoded = InteractionLog.encode(record)
        guard InteractionLog.decode(encoded.dropLast()) == record else { fatalError("a decoded record does not survive encode and decode") }
    }
    guard let before = try? InteractionLog.readAll(directory: scratch) else { fatalError("readAll failed on a readable file") }
    let recovery: InteractionLog.Recovery?
    do { recovery = try InteractionLog.repairTail(path) } catch { fatalError("repairTail failed on a writable file: \(error)") }
    guard let after = try? InteractionLog.readAll(directory: scratch) else { fatalError("readAll failed after the repair") }
    if let recovery {
        guard recovery.truncatedBytes > 0, recovery.truncatedBytes <= bytes.count else { fatalError("repair claims to cut \(recovery.truncatedBytes) of \(bytes.count) bytes") }
        guard after.records == before.records else { fatalError("the repair changed the good records: \(before.records.count) before, \(after.records.count) after") }
        guard (try? InteractionLog.repairTail(path)) == .some(nil) else { fatalError("a repaired segment needs another repair") }
    } else {
        guard after == before else { fatalError("a segment without repair reads differently the second time") }
    }
}

/// The same lines with the first 8 bytes of each (the CRC-32 in hex) rewritten to match
/// the rest of the line after the tab.
private func withRecomputedChecksums(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    for (index, line) in lines.enumerated() {
        if line.count > 9, line[line.startIndex + 8] == 0x09 {
            let body = Array(line[(line.startIndex + 9)...])
            out += Array(String(format: "%08x", ChecksummedLine.crc(body)).utf8)
            out.append(0x09)
            out += body
        } else {
            out += line
        }
        if index < lines.count - 1 { out.append(0x0A) }
    }
    return out
}
