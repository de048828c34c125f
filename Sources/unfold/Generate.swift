import ArgumentParser
import Foundation
import UnfoldData

/// `unfold generate`: a seeded synthetic data set with planted groups.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic implicit-feedback data set with planted user/item groups.",
        discussion: "Writes TSV (user item weight timestamp) and, with --groups-out, the ground-truth groups (kind id group)."
    )

    @Option(help: "Number of users.") var users = 1000
    @Option(help: "Number of items.") var items = 500
    @Option(help: "Number of interactions.") var interactions = 50_000
    @Option(help: "Number of planted groups.") var groups = 4
    @Option(name: .customLong("in-group"), help: "Probability an interaction stays in the user's group.") var inGroup = 0.95
    @Option(name: .customLong("popularity-exponent"), help: "Power-law exponent of item popularity.") var popularityExponent = 0.8
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Output file (.tsv, or .tsv.gz to compress).") var out: String
    @Option(name: .customLong("groups-out"), help: "Where to write the planted groups.") var groupsOut: String?

    func run() throws {
        let start = Date()
        let generator = SyntheticGenerator(users: users, items: items, interactions: interactions, groups: groups,
                                           inGroupProbability: inGroup, popularityExponent: popularityExponent, seed: seed)
        let output = try cliTry { try generator.generate() }
        var bytes = InteractionWriter.tsv(output.interactions)
        if out.hasSuffix(".gz") { bytes = try Gzip.compress(bytes, level: 1) }
        try cliTry { try writeFileAtomically(bytes, to: out) }
        if let groupsOut { try cliTry { try writeFileAtomically(SyntheticGenerator.groupsTSV(output), to: groupsOut) } }
        printErr(String(format: "generated %d interactions (%d users, %d items, %d groups) in %.2f s -> %@", interactions, users, items, groups, Date().timeIntervalSince(start), out))
    }
}

/// Turns a typed library error into a command-line failure with its message.
func cliTry<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CustomStringConvertible & Error {
        throw ValidationError(error.description)
    }
}

func printErr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
