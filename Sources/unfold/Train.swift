import ArgumentParser
import Foundation
import UnfoldModels
import UnfoldTraining

/// `unfold train`: builds a `TrainingSpec` from flags (or reads one from `--spec`) and runs
/// the training pipeline. This is the command the server's background jobs run as a
/// separate process. Model parameters are flags named after the kind's parameter table
/// (`--factors 64`, `--unobserved-weight 1`): the table is their one definition.
struct Train: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(abstract: "Train a model and write its snapshot.", discussion: parameterHelp)
    }

    @Option(help: "Model kind: \(ModelKind.names.joined(separator: ", ")).") var model = "wals"
    @Option(help: "Training interactions (TSV, CSV or JSONL, optionally gzip): a path or an http(s)/file URL.") var data: String?
    @Option(help: "Held-out interactions: held-out metrics go into the snapshot metadata.") var test: String?
    @Option(help: "Also train on the records of this interaction log directory (POST /v1/interactions).") var log: String?
    @Option(help: "Items file with titles and categories (TSV with header, or RecBole .item).") var items: String?
    @Option(help: "Planted groups (unfold generate --groups-out): the folding rate goes into the metadata.") var groups: String?
    @Flag(name: .customLong("skip-bad-lines"), help: "Count bad lines instead of stopping.") var skipBadLines = false
    @Option(help: "Without --test: hold out this fraction of the training data (latest per user by time, else random) for held-out metrics.") var holdout: Double?
    @Option(help: "Model name (default: the kind).") var name: String?
    @Flag(help: "Search the hyperparameters on a validation split of the training data first, then train the best on all of it.") var tune = false
    @Option(help: "With --tune: the search's time budget, e.g. 600, 90s, 10m, 1h (default 10m).") var tuneBudget: String?
    @Option(help: "With --tune: configurations in the first round (fixed: the search is deterministic for a seed; default: as many as the budget allows).") var tuneTrials: Int?
    @Option(help: "local (this process) or spark (spark-submit of spark/unfold_als.py, then an import; wals only).") var engine: TrainingSpec.Engine = .local
    @Option(help: "Engine spark: the spark-submit to run (a path or a name on PATH).") var sparkSubmit = "spark-submit"
    @Option(help: "Engine spark: --master for spark-submit.") var sparkMaster = "local[2]"
    @Option(help: "Engine spark: extra spark-submit arguments, separated by spaces (e.g. \"--deploy-mode client --conf spark.executor.memory=4g\").") var sparkArgs = ""
    @Option(help: "Engine spark: the PySpark job.") var sparkJob = "spark/unfold_als.py"
    @Option(help: "Engine spark: where the job writes its exchange directory (default: a hidden directory beside the snapshots, removed after the import).") var sparkExchange: String?
    @Option(help: "A training spec file (JSON: model, name, params, data), instead of the flags above.") var spec: String?
    @Option(help: "Snapshot directory.") var out = "snapshots"
    @Option(help: "auto (a bar on a terminal, lines otherwise), json (JSON lines on stdout), text or none.") var progress: ProgressReporter.Mode = .auto
    @Option(help: "Lower this process's scheduling priority by N (the server's jobs use 10).") var nice = 0
    @Argument(parsing: .allUnrecognized, help: .hidden) var parameters: [String] = []

    /// The parameter tables as help text: common ones, then each kind's.
    static var parameterHelp: String {
        func lines<P: ParameterSet>(_ type: P.Type) -> String {
            P.parameters.map { "  \($0.flag) — \($0.help) (\($0.accepts.description))" }.joined(separator: "\n")
        }
        var text = "Parameters of every kind:\n" + lines(CommonParameters.self)
        for kind in ModelKind.all {
            text += "\n\n\(kind.name):\n" + lines(kind.parameters)
        }
        return text
    }

    func trainingSpec() throws -> TrainingSpec {
        var spec = try baseSpec()
        if tune || tuneBudget != nil || tuneTrials != nil {
            var request = spec.tune ?? TuningRequest()
            if let tuneBudget {
                guard let seconds = TuningRequest.seconds(tuneBudget) else { throw ValidationError("--tune-budget '\(tuneBudget)' is not a duration (e.g. 600, 90s, 10m, 1h)") }
                request.budgetSeconds = seconds
            }
            if let tuneTrials { request.trials = tuneTrials }
            do { try request.validate() } catch { throw ValidationError(error.message) }
            spec.tune = request
        }
        return spec
    }

    func baseSpec() throws -> TrainingSpec {
        if let spec {
            guard parameters.isEmpty, data == nil else { throw ValidationError("--spec takes the whole spec from the file; drop the other parameters and --data") }
            let bytes: Data
            do { bytes = try Data(contentsOf: URL(fileURLWithPath: spec)) } catch { throw ValidationError("cannot read spec \(spec): \(error.localizedDescription)") }
            do { return try JSONDecoder().decode(TrainingSpec.self, from: bytes) } catch { throw ValidationError("spec \(spec) is not a valid training spec: \(Self.describe(error))") }
        }
        guard let kind = ModelKind(name: model) else { throw ValidationError("model '\(model)' is not available; available: \(ModelKind.names.joined(separator: ", "))") }
        guard let data else { throw ValidationError("--data is required (or --spec)") }
        let source = DataSource(path: data, test: test, items: items, log: log, groups: groups, skipBadLines: skipBadLines, holdout: holdout)
        do {
            return try TrainingSpec(kind: kind, name: name, values: try Self.values(parameters, kind: kind), data: source, engine: engine)
        } catch let error as ParameterError {
            throw ValidationError(error.message)
        }
    }

    /// `--name value`, `--name=value` and bare boolean flags, as parameter values by name.
    static func values(_ arguments: [String], kind: ModelKind) throws -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), argument.count > 2 else { throw ValidationError("unexpected argument '\(argument)'") }
            var flag = String(argument.dropFirst(2)), value: String?
            if let equals = flag.firstIndex(of: "=") {
                value = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
            }
            let name = flag.replacingOccurrences(of: "-", with: "_")
            let isFlag = (CommonParameters.parameters.first { $0.name == name }?.isFlag ?? false)
            if value == nil {
                if isFlag && (i + 1 == arguments.count || arguments[i + 1].hasPrefix("--")) {
                    value = "true"
                } else if i + 1 < arguments.count {
                    i += 1
                    value = arguments[i]
                } else {
                    throw ValidationError("missing value for '--\(flag)'")
                }
            }
            // Given twice, the later wins, as for every other option.
            values[name] = .text(value!)
            i += 1
        }
        return values
    }

    static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        if case DecodingError.keyNotFound(let key, _) = error { return "missing '\(key.stringValue)'" }
        if case DecodingError.typeMismatch(_, let context) = error { return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)" }
        return "\(error)"
    }

    func validate() throws {
        _ = try trainingSpec()
    }

    func run() throws {
        if nice > 0 { lowerPriority(by: nice) }
        let spec = try trainingSpec()
        let reporter = ProgressReporter(mode: progress)
        if spec.engine == .spark {
            let settings = SparkSettings(submit: sparkSubmit, master: sparkMaster, arguments: sparkArgs.split(separator: " ").map(String.init),
                                         job: sparkJob, exchange: sparkExchange)
            _ = try cliTry { try SparkRun(spec: spec, settings: settings, output: out, reporter: reporter).run() }
        } else {
            _ = try cliTry { try TrainingPipeline(spec: spec, output: out, reporter: reporter).run() }
        }
    }
}

extension ProgressReporter.Mode: ExpressibleByArgument {}
extension TrainingSpec.Engine: ExpressibleByArgument {}

/// nice(2) for this process; a failure is reported and training goes on at normal priority.
func lowerPriority(by amount: Int) {
    #if os(Linux)
    let status = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Int32(amount))
    #else
    let status = setpriority(PRIO_PROCESS, 0, Int32(amount))
    #endif
    if status != 0 { printErr("warning: could not lower the priority by \(amount): \(String(cString: strerror(errno)))") }
}
