import CCPUCheck
import Foundation
import XCTest

/// The start-up CPU check (Sources/CCPUCheck): a binary whose numeric code was compiled for
/// haswell and started on a CPU without AVX2 exits 2 with a message naming what is missing,
/// instead of dying of SIGILL at the first AVX2 instruction. The older CPUs are QEMU's
/// user-mode emulation (`qemu-x86_64 -cpu Westmere`; .ci/run installs qemu-user).
final class CPUCheckEndToEndTests: XCTestCase {
    /// What this build's numeric targets were compiled for: the test bundle and the binary come
    /// from the same `swift build`, so the check linked into the bundle reports the binary's.
    let targetCPU = String(cString: unfold_target_cpu())

    func qemu() throws -> String {
        #if !arch(x86_64)
        throw XCTSkip("the CPU check is for x86-64 builds")
        #else
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/qemu-x86_64"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw XCTSkip("qemu-x86_64 is not installed (apt-get install qemu-user)")
        #endif
    }

    func testAnOlderCPUGetsAMessageInsteadOfAnIllegalInstruction() throws {
        guard ["haswell", "x86-64-v3"].contains(targetCPU) else {
            throw XCTSkip("this build is for \(targetCPU.isEmpty ? "the baseline CPU" : targetCPU), not haswell: nothing to refuse")
        }
        let qemu = try qemu()
        // The command must reach numeric code if the check does not stop it first: the
        // generator's random numbers are UnfoldMath's, compiled for haswell.
        let output = NSTemporaryDirectory() + "unfold-cpu-\(UUID().uuidString).tsv"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: output) }
        let generate = [ServerProcess.binary, "generate", "--users", "20", "--items", "10", "--interactions", "200", "--out", output]

        let westmere = try run(qemu, ["-cpu", "Westmere"] + generate)
        XCTAssertEqual(westmere.status, 2, westmere.stderr)
        XCTAssertTrue(westmere.stderr.contains("unfold: this binary was compiled for the \(targetCPU) CPU, and this CPU lacks avx avx2 fma bmi bmi2 movbe f16c lzcnt;"), westmere.stderr)
        XCTAssertTrue(westmere.stderr.contains("rebuild it with UNFOLD_TARGET_CPU=x86-64"), westmere.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "nothing ran past the check")

        // Each feature the brief names is checked on its own: a Haswell without just that one.
        for feature in ["avx2", "fma", "bmi2", "movbe"] {
            let result = try run(qemu, ["-cpu", "Haswell,-\(feature)"] + generate)
            XCTAssertEqual(result.status, 2, "\(feature): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("this CPU lacks \(feature);"), "\(feature): \(result.stderr)")
        }

        // The CPU it was built for runs it, numeric kernels and all.
        let haswell = try run(qemu, ["-cpu", "Haswell"] + generate)
        XCTAssertEqual(haswell.status, 0, haswell.stderr)
        XCTAssertFalse(haswell.stderr.contains("lacks"), haswell.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output))
    }

    /// Runs a command to its end, or kills it after `deadline` seconds and fails.
    func run(_ executable: String, _ arguments: [String], deadline: TimeInterval = 120) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("UNFOLD_") }
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        // Read while it runs, so a full pipe cannot stall it.
        let collected = DispatchSemaphore(value: 0)
        // Safe to share: the reader writes it once before signalling `collected`, and it is
        // read only after a successful wait on `collected`.
        nonisolated(unsafe) var stderr = Data()
        DispatchQueue.global().async {
            stderr = err.fileHandleForReading.readDataToEndOfFile()
            collected.signal()
        }
        if exited.wait(timeout: .now() + deadline) == .timedOut {
            process.terminate()
            _ = exited.wait(timeout: .now() + 5)
            XCTFail("\(arguments.joined(separator: " ")) did not finish within \(deadline) s")
        }
        let text = collected.wait(timeout: .now() + 5) == .success ? String(decoding: stderr, as: UTF8.self) : "(stderr not collected in time)"
        return (process.terminationStatus, text)
    }
}
