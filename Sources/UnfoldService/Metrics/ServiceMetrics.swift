import Foundation
import UnfoldData
import UnfoldMetrics

/// The counts the service keeps besides each model's own (`ServingStats`): what the model
/// store did (from its events, off the request path), ingest outcomes (lock-free, on it),
/// and how long jobs ran.
public final class ServiceMetrics: @unchecked Sendable {  // dictionaries behind `lock`
    public let recordsAccepted = Counter(), recordsRejected = Counter()
    public let batchesAccepted = Counter(), batchesRejected = Counter()
    /// Group commits of the interaction log: the fsync's duration, the requests one commit
    /// carried, the bytes appended.
    public let logSyncSeconds = Histogram.seconds([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1])
    public let logCommitBatches = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128], unit: 1)
    public let logBytes = Counter()
    public let jobSeconds = Histogram(bounds: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600], unit: 1e3)

    private let lock = NSLock()
    private var loadSeconds: [String: Histogram] = [:]
    private var swaps: [String: UInt64] = [:]
    private var heldBack: [String: UInt64] = [:]
    private var rejections: [String: UInt64] = [:]

    public init() {}

    public func loaded(_ name: String, seconds: Double) {
        let histogram = lock.withLock { () -> Histogram in
            if let h = loadSeconds[name] { return h }
            let h = Histogram.seconds([0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
            loadSeconds[name] = h
            return h
        }
        histogram.observe(units: UInt64(max(seconds, 0) * 1e9))
    }

    public func committed(_ commit: InteractionLog.Commit) {
        logSyncSeconds.observe(units: commit.syncNanoseconds)
        logCommitBatches.observe(units: UInt64(commit.batches))
        logBytes.increment(by: UInt64(commit.bytes))
    }

    public func swapped(_ name: String) { lock.withLock { swaps[name, default: 0] += 1 } }

    public func heldBack(_ name: String) { lock.withLock { heldBack[name, default: 0] += 1 } }

    /// A rejection, by the check that failed (`check crc failed: …` → `crc`).
    public func rejected(reason: String) {
        var check = "other"
        if reason.hasPrefix("check "), let end = reason.dropFirst(6).firstIndex(of: " ") {
            check = String(reason[reason.index(reason.startIndex, offsetBy: 6)..<end])
        } else if reason.hasPrefix("cannot read") {
            check = "unreadable"
        }
        lock.withLock { rejections[check, default: 0] += 1 }
    }

    func snapshot() -> (load: [String: Histogram], swaps: [String: UInt64], heldBack: [String: UInt64], rejections: [String: UInt64]) {
        lock.withLock { (loadSeconds, swaps, heldBack, rejections) }
    }
}
