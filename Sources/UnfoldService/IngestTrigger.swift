import Foundation
import Logging
import UnfoldData
import UnfoldHTTP
import UnfoldModels
import UnfoldServing

/// `retrain_after_interactions`: after M newly ingested interactions, retrain on the base
/// data plus the log. The count restarts when a retrain starts; while one runs, the count
/// keeps growing and the next batch past M tries again.
final class IngestTrigger: @unchecked Sendable {
    let threshold: Int
    /// The model name it retrains.
    let model: String
    let jobs: JobSupervisor
    let logger: Logger
    private let lock = NSLock()
    private var count = 0

    init(threshold: Int, model: String, jobs: JobSupervisor, logger: Logger) {
        self.threshold = threshold
        self.model = model
        self.jobs = jobs
        self.logger = logger
    }

    func accepted(_ n: Int) {
        guard threshold > 0 else { return }
        let due: Bool = lock.withLock {
            count += n
            return count >= threshold
        }
        guard due else { return }
        do {
            let (spec, basedOn) = try jobs.scheduledSpec(model, addLog: true)
            let job = try jobs.start(spec, basedOn: basedOn)
            lock.withLock { count = 0 }
            logger.notice("retrain started after ingested interactions", metadata: ["job": .string(job.id), "threshold": .stringConvertible(threshold)])
        } catch {
            logger.debug("ingest-triggered retrain not started", metadata: ["reason": .string("\(error)")])
        }
    }
}
