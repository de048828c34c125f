import ArgumentParser
import Foundation
import UnfoldData

/// `unfold split`: train/test files that other programs can read, so every system
/// is measured on exactly the same split.
struct Split: ParsableCommand {
    enum Method: String, ExpressibleByArgument, CaseIterable { case random, temporal, leaveKOut = "leave-k-out", users, randomPerUser = "random-per-user" }

    static let configuration = CommandConfiguration(abstract: "Split interactions into train and test files.")

    @Option(help: "Interactions file (TSV, CSV or JSONL, optionally gzip).") var data: String
    @Option(help: "random, temporal (per user, latest by time), leave-k-out, users (whole users held out) or random-per-user (per user, a random share).") var method: Method = .temporal
    @Option(name: .customLong("test-fraction"), help: "Held-out fraction for random, temporal, users and random-per-user.") var testFraction = 0.2
    @Option(help: "Held-out interactions per user for leave-k-out.") var k = 1
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(name: .customLong("train-out"), help: "Train file to write.") var trainOut: String
    @Option(name: .customLong("test-out"), help: "Test file to write.") var testOut: String
    @Flag(name: .customLong("skip-bad-lines"), help: "Count bad lines instead of stopping.") var skipBadLines = false

    func run() throws {
        let read = try cliTry { try InteractionReader(skipBadLines: skipBadLines).read(path: data) }
        if read.skippedLines > 0 { printErr("skipped \(read.skippedLines) bad lines, e.g. \(read.skippedExamples.first ?? "")") }
        let splitMethod: SplitMethod
        switch method {
        case .random: splitMethod = .random(testFraction: testFraction, seed: seed)
        case .temporal: splitMethod = .temporal(testFraction: testFraction)
        case .leaveKOut: splitMethod = .leaveKOut(k: k, seed: seed)
        case .users: splitMethod = .users(testFraction: testFraction, seed: seed)
        case .randomPerUser: splitMethod = .randomPerUser(testFraction: testFraction, seed: seed)
        }
        let (train, test) = try cliTry { try Splitter.split(read.interactions, splitMethod) }
        try cliTry { try InteractionWriter.write(train, to: trainOut) }
        try cliTry { try InteractionWriter.write(test, to: testOut) }
        printErr("split \(read.interactions.count) interactions: \(train.count) train -> \(trainOut), \(test.count) test -> \(testOut)")
    }
}
