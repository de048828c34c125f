// libFuzzer entry point for the interaction-file readers (UnfoldData): the same bytes as
// TSV, CSV and JSON Lines, strict and skipping bad lines, gzip when they start with its
// magic; then as an items file and a users file. Any bytes end in data or a DataError,
// never a crash, and what is read is consistent: every index inside its id map, the CSR
// matrix built from it holds every interaction.
import Foundation
@testable import UnfoldData

/// Where the path-based readers get their file: one per process, rewritten per input.
private let scratch = fuzzScratch("interactions")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInteractionReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for format in InteractionFormat.allCases {
        for skip in [false, true] {
            // A small cap keeps a gzip bomb from exhausting the fuzzer's memory.
            let reader = InteractionReader(skipBadLines: skip, maxBytes: 1 << 20)
            guard let result = try? reader.read(bytes: bytes, name: "fuzz.\(format)", format: format) else { continue }
            check(result.interactions)
        }
    }
    let path = (scratch as NSString).appendingPathComponent("input.tsv")
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { fatalError("cannot write \(path)") }
    _ = try? ItemCatalog.read(path: path)
    _ = try? UserFeatureFile.read(path: path)
    return 0
}

private func check(_ data: Interactions) {
    let n = data.count
    guard n > 0, data.itemIndex.count == n, data.weights.count == n, data.timestamps.map({ $0.count == n }) ?? true else {
        fatalError("inconsistent interactions: \(n) users, \(data.itemIndex.count) items, \(data.weights.count) weights")
    }
    guard data.userIndex.allSatisfy({ $0 >= 0 && Int($0) < data.users.count }),
          data.itemIndex.allSatisfy({ $0 >= 0 && Int($0) < data.items.count }) else { fatalError("an index outside its id map") }
    guard data.weights.allSatisfy({ $0.isFinite && $0 >= 0 }) else { fatalError("a weight that is not a finite non-negative number") }
    let matrix = data.userItemMatrix()
    let transposed = matrix.transposed()
    guard matrix.nonZeroCount == transposed.nonZeroCount, matrix.nonZeroCount <= n else { fatalError("the CSR build lost or invented cells") }
}
