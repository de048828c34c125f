import ArgumentParser
import UnfoldService

@main
struct Unfold: ParsableCommand {
    static let version = UnfoldApplication.version

    static let configuration = CommandConfiguration(
        commandName: "unfold",
        abstract: "Unfold: a recommendation service that serves item embeddings over HTTP.",
        version: version,
        subcommands: [Serve.self, Train.self, Import.self, Index.self, Evaluate.self, Inspect.self, Generate.self, Split.self]
    )
}
