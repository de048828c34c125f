import Dispatch
import Foundation

/// Runs request handlers on Dispatch: at most `width` at a time, at most `capacity`
/// waiting. A full queue refuses a job (the server answers 503 `overloaded`) instead of
/// queueing without bound.
///
/// Handlers are CPU work (encoding a query, scanning an item table); running them apart
/// from the event queues keeps those free to move bytes and answer probes. Each of the
/// `width` slots is a serial Dispatch queue. A started slot runs waiting jobs one after
/// another; with none left it parks for up to `linger` for the next one before giving its
/// thread back to Dispatch. A busy server so hands Dispatch one work item per burst, and
/// a job that arrives while a slot is parked costs one semaphore signal.
final class WorkerQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let slots: [DispatchQueue]
    private let wakeups: [DispatchSemaphore]
    /// A job handed to a parked slot, taken by that slot after its wake-up.
    private var handoff: [(@Sendable () -> Void)?]
    private var idleSlots: [Int]
    private var parkedSlots: [Int] = []
    /// Jobs waiting for a slot: a ring of `capacity` entries.
    private var waiting: [(@Sendable () -> Void)?]
    private var head = 0
    private var count = 0
    private var stopped = false
    private let linger: DispatchTimeInterval

    init(width: Int, capacity: Int, linger: DispatchTimeInterval = .milliseconds(2)) {
        let width = max(width, 1)
        slots = (0..<width).map { DispatchQueue(label: "unfold.worker.\($0)", qos: .userInitiated) }
        wakeups = (0..<width).map { _ in DispatchSemaphore(value: 0) }
        handoff = Array(repeating: nil, count: width)
        idleSlots = Array((0..<width).reversed())
        waiting = Array(repeating: nil, count: max(capacity, 1))
        self.linger = linger
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
        if let slot = parkedSlots.popLast() {
            handoff[slot] = job
            lock.unlock()
            wakeups[slot].signal()
            return true
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
            if count > 0, let next = waiting[head] {
                waiting[head] = nil
                head = (head + 1) % waiting.count
                count -= 1
                lock.unlock()
                job = next
                continue
            }
            parkedSlots.append(slot)
            lock.unlock()
            if wakeups[slot].wait(timeout: .now() + linger) == .timedOut {
                lock.lock()
                if let index = parkedSlots.firstIndex(of: slot) {
                    parkedSlots.remove(at: index)
                    idleSlots.append(slot)
                    lock.unlock()
                    return
                }
                lock.unlock()
                // A job was handed over as the wait timed out: its signal is on the way.
                wakeups[slot].wait()
            }
            job = lock.withLock {
                defer { handoff[slot] = nil }
                return handoff[slot]!
            }
        }
    }
}
