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
        let model = snapshot.model
        let metadata = try JSONSerialization.jsonObject(with: encoder.encode(model.metadata))
        var fold = false
        if case .foldIn = model.encoder { fold = true }
        let header: [String: Any] = [
            "file": file, "bytes": snapshot.fileSize, "kind": model.kind.name, "version": model.version,
            "created_at": model.createdAt, "dimensions": model.dimensions, "items": model.itemCount,
            "neighbours_per_item": model.neighbours.perItem, "fold_in": fold, "encoder": model.encoder.name, "checks": "passed",
        ]
        let out = try JSONSerialization.data(withJSONObject: ["header": header, "metadata": metadata], options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: out, as: UTF8.self))
    }
}
