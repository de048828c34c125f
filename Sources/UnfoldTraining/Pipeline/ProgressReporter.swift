import Foundation
import UnfoldModels

/// How a training run tells what it is doing: a bar on a terminal, plain lines in a log, or
/// `TrainingProgress` records as JSON lines on stdout for the server that supervises it.
public final class ProgressReporter: @unchecked Sendable {  // used from the training thread only
    public enum Mode: String, Sendable, CaseIterable { case auto, json, text, none }

    let mode: Mode
    let terminal: Bool
    let started = Date()
    private let encoder: JSONEncoder

    public init(mode: Mode) {
        let tty = isatty(STDERR_FILENO) == 1
        self.mode = mode == .auto ? .text : mode  // auto: text, drawn as a bar on a terminal
        self.terminal = tty && mode == .auto
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    var elapsed: Double { Date().timeIntervalSince(started) }

    public func phase(_ phase: TrainingProgress.Phase, detail: String) {
        switch mode {
        case .json: emit(TrainingProgress(phase: phase, detail: detail, elapsed: elapsed))
        case .text, .auto: Self.printErr(String(format: "[%7.2fs] %@: %@", elapsed, phase.rawValue, detail))
        case .none: break
        }
    }

    public func note(_ text: String) {
        switch mode {
        case .json: emit(TrainingProgress(phase: .note, detail: text, elapsed: elapsed))
        case .text, .auto: Self.printErr(text)
        case .none: break
        }
    }

    public func epoch(_ record: EpochRecord, of total: Int) {
        let eta = Double(max(total - record.epoch, 0)) * record.seconds
        switch mode {
        case .json:
            emit(TrainingProgress(phase: .train, epoch: record.epoch, epochs: total, loss: record.loss, seconds: record.seconds, elapsed: elapsed, eta: eta))
        case .text, .auto:
            if terminal {
                let width = 30, filled = width * record.epoch / max(total, 1)
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d loss %.4g  %.2fs/epoch  eta %.0fs", bar, record.epoch, total, record.loss, record.seconds, eta).utf8))
                if record.epoch == total { Self.printErr("") }
            } else {
                Self.printErr(String(format: "epoch %d/%d loss %.6g %.3fs eta %.1fs", record.epoch, total, record.loss, record.seconds, eta))
            }
        case .none: break
        }
    }

    /// A finished trial of the hyperparameter search.
    public func trial(_ trial: TuningTrial, metric: String) {
        switch mode {
        case .json:
            var progress = TrainingProgress(phase: .tune, detail: "trial", elapsed: elapsed)
            progress.trial = trial
            emit(progress)
        case .text, .auto:
            let parameters = trial.parameters.keys.sorted().map { "\($0)=\(trial.parameters[$0]!)" }.joined(separator: " ")
            Self.printErr(String(format: "[%7.2fs] tune: configuration %d round %d (%d epochs) %@ %.4f in %.2fs  %@", elapsed, trial.configuration, trial.round,
                                 trial.epochs, metric, trial.validation, trial.seconds, parameters.isEmpty ? "(as asked)" : parameters))
        case .none: break
        }
    }

    /// The last record: always on stdout (JSON), so a script can read where the snapshot went.
    public func done(path: String, version: UInt64, evaluation: [String: Double]) {
        if mode == .text || mode == .auto { Self.printErr(String(format: "wrote %@ in %.2f s", path, elapsed)) }
        emit(TrainingProgress(phase: .done, elapsed: elapsed, snapshot: path, version: version, evaluation: evaluation.isEmpty ? nil : evaluation))
    }

    private func emit(_ progress: TrainingProgress) {
        guard let data = try? encoder.encode(progress) else { return }
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func printErr(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
