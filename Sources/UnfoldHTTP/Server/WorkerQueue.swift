import Dispatch
import Foundation

/// Runs request handlers on Dispatch: at most `width` at a time, at most `capacity`
/// waiting. A full queue refuses a job (the server answers 503 `overloaded`) instead of
/// queueing without bound.
///
/// Handlers are CPU work (encoding a query, scanning an item table); running them apart
/// from the event queues keeps those free to move bytes and answer probes. Each of the
/// `width` slots is a serial Dispatch queue; a slot that is started runs waiting jobs one
/// after another until none is left, so a busy server hands Dispatch one work item per
/// burst, not one per request.
final class WorkerQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let slots: [DispatchQueue]
    private var idleSlots: [Int]
    /// Jobs waiting for a slot: a ring of `capacity` entries.
    private var waiting: [(@Sendable () -> Void)?]
    private var head = 0
    private var count = 0
    private var stopped = false

    init(width: Int, capacity: Int) {
        slots = (0..<max(width, 1)).map { DispatchQueue(label: "unfold.worker.\($0)", qos: .userInitiated) }
        idleSlots = Array(slots.indices.reversed())
        waiting = Array(repeating: nil, count: max(capacity, 1))
    }

    /// Jobs waiting for a slot now.
    var waitingCount: Int { lock.withLock { count } }

    /// Starts or queues `job`; false when `capacity` jobs are waiting or the queue is stopped.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        guard !stopped else {
            lock.unlock()
            return false
        }
        if let slot = idleSlots.popLast() {
            lock.unlock()
            slots[slot].async { [self] in drain(slot: slot, first: job) }
            return true
        }
        guard count < waiting.count else {
            lock.unlock()
            return false
        }
        waiting[(head + count) % waiting.count] = job
        count += 1
        lock.unlock()
        return true
    }

    /// Refuses new jobs; the waiting ones still run.
    func stop() {
        lock.withLock { stopped = true }
    }

    private func drain(slot: Int, first: @escaping @Sendable () -> Void) {
        var job = first
        while true {
            job()
            lock.lock()
            guard count > 0, let next = waiting[head] else {
                idleSlots.append(slot)
                lock.unlock()
                return
            }
            waiting[head] = nil
            head = (head + 1) % waiting.count
            count -= 1
            lock.unlock()
            job = next
        }
    }
}
