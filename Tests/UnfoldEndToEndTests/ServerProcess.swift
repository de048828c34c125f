import Foundation
import XCTest

/// The real `unfold` binary, started as a child process on a free port.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    private(set) var port: UInt16 = 0
    private let lock = NSLock()
    private var stderrText = ""
    private var reader: Thread?
    private var scratchDirectory: String?

    /// The event core the servers of this run use: `UNFOLD_TEST_EVENT_LOOP` (`make test` runs
    /// this suite once per backend), passed on as `UNFOLD_EVENT_LOOP`; unset, the server's default.
    static var eventLoop: String? { ProcessInfo.processInfo.environment["UNFOLD_TEST_EVENT_LOOP"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The child's environment: the test's own without `UNFOLD_*` settings, the event core of
    /// this run, then what the test sets.
    static func childEnvironment(_ environment: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("UNFOLD_") }
        if let eventLoop { env["UNFOLD_EVENT_LOOP"] = eventLoop }
        env.merge(environment) { $1 }
        return env
    }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["UNFOLD_BIN"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/unfold").path
    }

    /// Starts `unfold serve --port 0 ARGS` and waits for its "listening" log line.
    init(_ arguments: [String] = [], environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        process.executableURL = URL(fileURLWithPath: Self.binary)
        // Private state directories unless the test names its own.
        var defaults: [String] = []
        let scratch = NSTemporaryDirectory() + "unfold-server-\(UUID().uuidString)"
        if !arguments.contains("--interaction-log") { defaults += ["--interaction-log", scratch + "/log"] }
        if !arguments.contains("--jobs") { defaults += ["--jobs", scratch + "/jobs"] }
        process.arguments = ["serve", "--port", "0", "--log-level", "debug"] + defaults + arguments
        scratchDirectory = scratch
        process.environment = Self.childEnvironment(environment)
        process.currentDirectoryURL = FileManager.default.temporaryDirectory
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        let thread = Thread { [weak self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                guard let self else { return }
                self.lock.withLock { self.stderrText += String(decoding: data, as: UTF8.self) }
            }
        }
        thread.start()
        reader = thread
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let match = log.firstMatch(of: /msg=listening event_loop=(\w+) host=\S+ port=(\d+)/) {
                port = UInt16(match.2)!
                // The suite must run against the backend it was asked for, not the default.
                let flag = arguments.firstIndex(of: "--event-loop").map { arguments[$0 + 1] }
                let expected = flag ?? environment["UNFOLD_EVENT_LOOP"] ?? Self.eventLoop
                if let expected, String(match.1) != expected {
                    XCTFail("server runs event loop \(match.1), expected \(expected)", file: file, line: line)
                }
                return
            }
            if !process.isRunning { break }
            usleep(10_000)
        }
        XCTFail("server did not start; its log:\n\(log)", file: file, line: line)
        throw CocoaError(.executableLoad)
    }

    var log: String { lock.withLock { stderrText } }

    var isRunning: Bool { process.isRunning }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit; returns the status, or nil if still running at the deadline.
    @discardableResult
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Resident memory of the server in KiB, from /proc.
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Waits until the log contains `text`.
    func waitForLog(_ text: String, timeout: TimeInterval = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(20_000)
        }
        return false
    }

    deinit {
        if process.isRunning {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        if let scratchDirectory { try? FileManager.default.removeItem(atPath: scratchDirectory) }
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass: every wait in a
/// test has a deadline, so a test fails instead of hanging. Returns whether it held.
func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}

/// Runs `unfold ARGS` to completion and returns its exit status and output; a run past
/// `timeout` seconds is killed (and reported as a failed status), so no test hangs.
func runUnfold(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 300) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
    process.arguments = arguments
    process.environment = ServerProcess.childEnvironment(environment)
    process.currentDirectoryURL = FileManager.default.temporaryDirectory
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let killer = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    // Both pipes drained concurrently, so a child filling one cannot block on it.
    nonisolated(unsafe) var stderr = Data()
    let errReader = DispatchGroup()
    DispatchQueue.global().async(group: errReader) { stderr = err.fileHandleForReading.readDataToEndOfFile() }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    errReader.wait()
    process.waitUntilExit()
    killer.cancel()
    let timedOut = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self),
            String(decoding: stderr, as: UTF8.self) + (timedOut ? "\n[test] unfold \(arguments.first ?? "") killed after \(Int(timeout)) s" : ""))
}

/// Planted-group data in `work` (300 users, 120 items, 3 groups: users of group g interact
/// with items i ≡ g mod 3; `train.tsv`) and a WALS model trained on it by the real binary
/// (`snapshots/`), with `extra` training flags.
func trainPlantedModel(in work: String, extra: [String] = []) throws {
    func path(_ name: String) -> String { (work as NSString).appendingPathComponent(name) }
    try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
    let generate = try runUnfold(["generate", "--users", "300", "--items", "120", "--interactions", "6000", "--groups", "3", "--seed", "5", "--out", path("train.tsv")])
    XCTAssertEqual(generate.status, 0, generate.stderr)
    let train = try runUnfold(["train", "--data", path("train.tsv"), "--out", path("snapshots"), "--factors", "16", "--iterations", "6",
                               "--regularization", "2.3", "--progress", "none"] + extra)
    XCTAssertEqual(train.status, 0, train.stderr)
}

/// One request on a fresh connection, with a JSON content type and `headers` (each line
/// ending in CRLF).
func call(_ server: ServerProcess, _ method: String, _ target: String, _ body: String = "", headers: String = "") throws -> WireResponse {
    let c = try RawClient(port: server.port)
    try c.send("\(method) \(target) HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\(headers)Content-Length: \(body.utf8.count)\r\n\r\n\(body)")
    return try c.readResponse()
}
