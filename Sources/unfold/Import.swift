import ArgumentParser
import Foundation
import UnfoldModels
import UnfoldTraining

/// `unfold import --from spark-als DIR|URL`: a snapshot from a model another engine trained
/// (docs/spark.md). With `--data` and `--test` the import also evaluates the model through
/// serving, as `unfold train` does, so the promotion gate compares like with like.
struct Import: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "import", abstract: "Build a snapshot from a model trained elsewhere (Apache Spark's implicit ALS).")
    }

    @Option(name: .customLong("from"), help: "What wrote the directory: spark-als (spark/unfold_als.py).") var format = "spark-als"
    @Argument(help: "The exchange directory: a path, or a file:// or http(s):// URL.") var location: String
    @Option(help: "Snapshot directory.") var out = "snapshots"
    @Option(help: "Model name (default: wals).") var name = "wals"
    @Option(help: "The training interactions Spark read (path or URL), to evaluate through serving; default: the source the exchange names, when --test is given.") var data: String?
    @Option(help: "Held-out interactions: Unfold's own held-out metrics go into the snapshot metadata.") var test: String?
    @Option(help: "Items file with titles and categories.") var items: String?
    @Option(help: "Neighbours stored per item.") var neighbours: Int?
    @Option(help: "auto, json, text or none.") var progress: ProgressReporter.Mode = .auto

    func run() throws {
        guard format == "spark-als" else { throw ValidationError("--from '\(format)' is not known; known: spark-als") }
        let exchange = try cliTry { try SparkExchange.read(location) }
        var spec = try cliTry { try SparkImporter.recipe(exchange, name: name, test: test, items: items) }
        if let data { spec.data.path = data }
        if let neighbours {
            guard neighbours >= 0 else { throw ValidationError("--neighbours must be >= 0") }
            spec.common.neighbours = neighbours
        }
        let importer = SparkImporter(exchange: exchange, spec: spec, output: out, reporter: ProgressReporter(mode: progress))
        _ = try cliTry { try importer.run() }
    }
}
