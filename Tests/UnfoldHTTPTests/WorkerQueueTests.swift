import Foundation
import XCTest
@testable import UnfoldHTTP

/// The bounded handler queue: every job runs, at most `width` at once, and beyond
/// `capacity` waiting jobs it refuses (the server's 503 `overloaded`).
final class WorkerQueueTests: XCTestCase {
    func testEveryJobRunsAndAtMostWidthAtOnce() {
        let workers = WorkerQueue(width: 2, capacity: 100)
        let lock = NSLock()
        nonisolated(unsafe) var running = 0, peak = 0, done = 0
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<50 {
            XCTAssertTrue(workers.submit {
                lock.withLock { running += 1; peak = max(peak, running) }
                usleep(1_000)
                lock.withLock { running -= 1; done += 1 }
                finished.signal()
            })
        }
        for _ in 0..<50 { XCTAssertEqual(finished.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(lock.withLock { done }, 50)
        XCTAssertEqual(lock.withLock { peak }, 2)
    }

    func testRefusesBeyondCapacityThenRunsWhatWaited() {
        let workers = WorkerQueue(width: 1, capacity: 2)
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        XCTAssertTrue(workers.submit { started.signal(); gate.wait(); finished.signal() })
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(workers.submit { finished.signal() })
        XCTAssertTrue(workers.submit { finished.signal() })
        XCTAssertEqual(workers.waitingCount, 2)
        XCTAssertFalse(workers.submit { XCTFail("a refused job ran") })
        gate.signal()
        for _ in 0..<3 { XCTAssertEqual(finished.wait(timeout: .now() + 10), .success) }
        XCTAssertEqual(workers.waitingCount, 0)
        XCTAssertTrue(workers.submit { finished.signal() }, "room again once the waiting jobs ran")
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
    }

    func testStopRefusesNewJobsButRunsTheWaitingOnes() {
        let workers = WorkerQueue(width: 1, capacity: 4)
        let gate = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        XCTAssertTrue(workers.submit { gate.wait(); finished.signal() })
        XCTAssertTrue(workers.submit { finished.signal() })
        workers.stop()
        XCTAssertFalse(workers.submit { XCTFail("ran after stop") })
        gate.signal()
        for _ in 0..<2 { XCTAssertEqual(finished.wait(timeout: .now() + 10), .success) }
    }
}
