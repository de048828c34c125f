import Foundation
import UnfoldTraining

/// How `unfold train` tells what it is doing: a bar on a terminal, plain lines in a log,
/// or JSON lines on stdout for the server that supervises it.
struct ProgressReporter {
    let mode: Train.Progress
    let started = Date()
    let terminal: Bool

    init(mode: Train.Progress) {
        let tty = isatty(STDERR_FILENO) == 1
        self.mode = mode == .auto ? .text : mode  // auto: text, drawn as a bar on a terminal
        self.terminal = tty && mode == .auto
    }

    private var elapsed: Double { Date().timeIntervalSince(started) }

    func phase(_ name: String, detail: String) {
        switch mode {
        case .json: emit(["phase": name, "detail": detail, "elapsed": elapsed])
        case .text, .auto: printErr(String(format: "[%7.2fs] %@: %@", elapsed, name, detail))
        case .none: break
        }
    }

    func note(_ text: String) {
        if mode != .none && mode != .json { printErr(text) }
        if mode == .json { emit(["phase": "note", "detail": text, "elapsed": elapsed]) }
    }

    func iteration(_ it: WALS.Iteration) {
        let eta = Double(it.of - it.iteration) * it.seconds
        switch mode {
        case .json:
            emit(["phase": "train", "iteration": it.iteration, "total": it.of, "loss": it.loss, "seconds": it.seconds, "elapsed": elapsed, "eta": eta])
        case .text, .auto:
            if terminal {
                let width = 30, filled = width * it.iteration / max(it.of, 1)
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d loss %.4g  %.2fs/it  eta %.0fs", bar, it.iteration, it.of, it.loss, it.seconds, eta).utf8))
                if it.iteration == it.of { printErr("") }
            } else {
                printErr(String(format: "iteration %d/%d loss %.6g %.3fs eta %.1fs", it.iteration, it.of, it.loss, it.seconds, eta))
            }
        case .none: break
        }
    }

    func done(path: String, version: UInt64, evaluation: [String: Double], seconds: Double) {
        var summary: [String: Any] = ["phase": "done", "snapshot": path, "version": version, "elapsed": seconds]
        if !evaluation.isEmpty { summary["evaluation"] = evaluation }
        if mode == .json {
            emit(summary)
        } else {
            if mode != .none { printErr(String(format: "wrote %@ in %.2f s", path, seconds)) }
            emit(summary)
        }
    }

    private func emit(_ object: [String: Any]) {
        if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }
}
