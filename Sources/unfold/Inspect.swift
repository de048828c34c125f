import ArgumentParser
import Foundation
import UnfoldSnapshot

/// `unfold inspect FILE`: verifies a snapshot and prints its header and metadata as JSON.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify a snapshot file and print its header and metadata.")

    @Argument(help: "Snapshot file.") var file: String

    func run() throws {
        let snapshot = try cliTry { try Snapshot.open(path: file) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let metadata = try JSONSerialization.jsonObject(with: encoder.encode(snapshot.metadata))
        let header: [String: Any] = [
            "file": file, "bytes": snapshot.fileSize, "kind": snapshot.kind.name, "version": snapshot.version,
            "created_at": snapshot.createdAt, "dimensions": snapshot.dimensions, "items": snapshot.itemCount,
            "neighbours_per_item": snapshot.neighbourCount, "fold_in": snapshot.foldIn != nil, "checks": "passed",
        ]
        let out = try JSONSerialization.data(withJSONObject: ["header": header, "metadata": metadata], options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: out, as: UTF8.self))
    }
}
