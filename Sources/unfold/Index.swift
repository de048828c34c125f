import ArgumentParser
import Foundation
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot
import UnfoldTraining

/// `unfold index SNAPSHOT`: adds (or rebuilds) the approximate index of an existing snapshot
/// and writes the result as the next version of its name, which the server verifies, gates
/// and swaps in like any other. Training builds the index itself for large catalogues.
struct Index: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Build the approximate inner-product index of a snapshot (a new version of it).")
    }

    @Argument(help: "The snapshot file.") var snapshot: String
    @Option(help: "Directory of the new version (default: the snapshot's).") var out: String?
    @Option(help: "Lists (default: about 2·√items, a power of two within 16…4096).") var lists: Int?
    @Option(help: "Recall@10 the probe count must reach on the sample queries.") var targetRecall: Float = 0.97
    @Option(help: "Sample queries (item rows drawn at random) the probe count is calibrated on.") var queries = 256
    @Option(help: "Random seed.") var seed = 42
    @Option(help: "Measure instead of building: queries (n×d little-endian float32, row-major) searched in the snapshot's index at each --probes value and scanned exactly, on all cores; one JSON line per setting (recall@k, queries/s).") var search: String?
    @Option(help: "With --search: probe counts, comma-separated (default: the index's own).") var probes: String?
    @Option(help: "With --search: k.") var k = 10

    func run() throws {
        if let search { return try measure(search) }
        let opened = try cliTry { try Snapshot.open(path: snapshot) }
        var model = opened.model
        guard model.encoder.itemBias == nil else { throw ValidationError("\(snapshot): a model with per-item biases (softmax) is served exactly; no index") }
        if let lists, !(1...model.itemCount).contains(lists) { throw ValidationError("--lists must be within 1...\(model.itemCount)") }
        guard (0.0...1.0).contains(targetRecall), queries > 0 else { throw ValidationError("--target-recall must be within 0...1 and --queries > 0") }
        var options = IndexBuilder.Options()
        options.lists = lists
        options.targetRecall = targetRecall
        options.seed = UInt64(seed)
        let started = Date()
        let sample = IndexBuilder.sampleRows(model.items.matrix, count: queries, seed: options.seed)
        model.index = IndexBuilder.build(model.items, queries: sample, options: options)
        let directory = out ?? (snapshot as NSString).deletingLastPathComponent
        let name = model.metadata.name
        model.version = TrainingPipeline.nextVersion(directory: directory, name: name)
        model.metadata.version = model.version
        let path = try cliTry { try SnapshotWriter.write(model, name: name, to: directory) }
        let index = model.index!
        printErr(String(format: "index: %d lists, %d probes, recall@10 %.4f on %d sample queries, built in %.1f s -> %@", index.lists, index.probes,
                        index.recall, index.sampleQueries, Date().timeIntervalSince(started), path))
    }

    /// Recall@k and queries/s of the index at each probe count against the exact scan, both
    /// on every core, for the same queries (bench/retrieval.py compares them with hnswlib and faiss).
    func measure(_ path: String) throws {
        let model = try cliTry { try Snapshot.open(path: snapshot) }.model
        guard let index = model.index else { throw ValidationError("\(snapshot) has no ann-index section (unfold index builds one)") }
        let d = model.dimensions
        guard let data = FileManager.default.contents(atPath: path), data.count % (4 * d) == 0, !data.isEmpty else {
            throw ValidationError("\(path) is not a list of \(d)-dimensional float32 queries")
        }
        let queries = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
        let count = queries.count / d
        let settings = try probes.map { text in
            try text.split(separator: ",").map { part -> Int in
                guard let p = Int(part), (1...index.lists).contains(p) else { throw ValidationError("--probes: '\(part)' is not within 1...\(index.lists)") }
                return p
            }
        } ?? [index.probes]
        let results = queries.withUnsafeBufferPointer { q in
            IndexBuilder.measure(index, items: model.items, queries: q.baseAddress!, count: count, probes: settings, k: k)
        }
        func line(_ fields: [String: Any]) {
            if let json = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) { print(String(decoding: json, as: UTF8.self)) }
        }
        line(["method": "exact", "queries": count, "queries_per_second": results.exactPerSecond, "recall": 1.0])
        for r in results.settings {
            line(["method": "unfold-ivf", "lists": index.lists, "probes": r.probes, "queries": count, "queries_per_second": r.perSecond, "recall": r.recall])
        }
    }
}
