// libFuzzer entry point for the snapshot reader (`Snapshot.open(path:)`; snapshots arrive
// from URLs in replica mode). Each input is opened as written, and again with the header
// and section CRC-32s recomputed, so mutations reach the checks behind the checksums (which
// a fuzzer cannot forge). Any bytes end in a Snapshot or a SnapshotError, never a crash,
// and an accepted snapshot holds what its header promises.
import CZlib
import Foundation
import UnfoldModels
import UnfoldSnapshot

private let scratch = fuzzScratch("snapshot")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    open(bytes)
    let fixed = withRecomputedChecksums(bytes)
    if fixed != bytes { open(fixed) }
    return 0
}

private func open(_ bytes: [UInt8]) {
    let path = (scratch as NSString).appendingPathComponent("model.unfold")
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
    guard let snapshot = try? Snapshot.open(path: path) else { return }
    let model = snapshot.model
    let n = model.itemCount, d = model.dimensions
    guard model.items.ids.count == n, model.items.vectors.count == n * d, model.items.norms.count == n, model.popularity.count == n, d > 0 else {
        fatalError("an accepted snapshot does not hold \(n) items of \(d) dimensions")
    }
    for i in 0..<n {
        guard model.items.norms[i].isFinite else { fatalError("the norm of item \(i) is not finite") }
        for (index, score) in model.neighbours.of(i) {
            guard index >= 0, index < n, score.isFinite else { fatalError("neighbour \(index) of item \(i) is outside the table or not finite") }
        }
    }
    for k in 0..<(n * d) where !model.items.vectors[k].isFinite { fatalError("the item table holds a non-finite float at \(k)") }
    // What the server does first with a loaded model (its smoke query): encode a one-item bag.
    // It must not crash; a finite table may still encode to infinities (floats near the top
    // of Float's range), which the server's smoke query refuses (`non-finite score`).
    guard n > 0 else { return }
    var bag = ItemBag()
    bag.add(0, weight: 1)
    var scratch = [Float](repeating: 0, count: max(model.encoder.scratchCount, 1))
    var q = [Float](repeating: 0, count: d)
    _ = scratch.withUnsafeMutableBufferPointer { s in
        q.withUnsafeMutableBufferPointer { out in
            model.encoder.encode(items: model.items.vectors.base, dimensions: d, bag: bag, features: .none, scratch: s.baseAddress, out: out.baseAddress!)
        }
    }
}

private func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.withUnsafeBytes { UInt32(crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))) }
}

private func load32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
private func load64(_ b: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[at + $1]) << (8 * $1) } }
private func store32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) } }

/// The same bytes with every in-bounds section's CRC-32 and then the header's (bytes
/// 0..<60, stored at 60) rewritten to match (docs/snapshot-format.md).
private func withRecomputedChecksums(_ bytes: [UInt8]) -> [UInt8] {
    guard bytes.count >= 64 else { return bytes }
    var out = bytes
    let sections = min(Int(load32(out, 24)), 64)
    for index in 0..<sections {
        let entry = 64 + index * 32
        guard entry + 32 <= out.count else { break }
        let offset = load64(out, entry + 8), length = load64(out, entry + 16)
        guard offset <= UInt64(out.count), length <= UInt64(out.count) - offset else { continue }
        store32(&out, entry + 24, crc(out[Int(offset)..<Int(offset + length)]))
    }
    store32(&out, 60, crc(out[0..<60]))
    return out
}
