import Foundation

/// A fixed set of threads that run handlers, fed from a bounded queue.
///
/// Handlers are CPU work (encoding a query, scanning an item table); running them
/// on as many threads as cores keeps the event loops free to move bytes. When the
/// queue is full, `submit` refuses and the caller answers 503 instead of queueing
/// without bound.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(@Sendable () -> Void)?]
    private var head = 0
    private var count = 0
    private var stopped = false

    init(threads: Int, capacity: Int) {
        jobs = Array(repeating: nil, count: max(capacity, 1))
        for index in 0..<max(threads, 1) {
            let thread = Thread { [self] in run() }
            thread.name = "unfold-worker-\(index)"
            thread.qualityOfService = .userInitiated
            thread.start()
        }
    }

    /// Queues a job; false when the queue is full or the pool is stopped.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped, count < jobs.count else { return false }
        jobs[(head + count) % jobs.count] = job
        count += 1
        condition.signal()
        return true
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while count == 0 && !stopped { condition.wait() }
            if count == 0 && stopped {
                condition.unlock()
                return
            }
            let job = jobs[head]
            jobs[head] = nil
            head = (head + 1) % jobs.count
            count -= 1
            condition.unlock()
            job?()
        }
    }
}
