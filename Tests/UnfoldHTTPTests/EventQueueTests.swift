import Foundation
import XCTest
@testable import UnfoldHTTP
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Both event-queue backends against the same contract, on a socket pair: readiness is
/// reported on the queue's context and only for the interest asked for, ticks arrive,
/// tasks run in order, and a cancelled descriptor is closed and its handler let go.
final class EventQueueTests: XCTestCase {
    /// A handler that records its calls and drains what it is told is readable.
    final class Recorder: EventHandler, @unchecked Sendable {
        let lock = NSLock()
        let fd: Int32
        weak var queue: (any EventQueue)?
        var bytes: [UInt8] = []
        var readableCalls = 0
        var writableCalls = 0
        var ticks: [UInt64] = []
        var offContext = 0

        init(fd: Int32) { self.fd = fd }

        func readable() {
            let onContext = queue?.isCurrent ?? false
            var chunk = [UInt8](repeating: 0, count: 256)
            let n = recv(fd, &chunk, chunk.count, 0)
            lock.withLock {
                readableCalls += 1
                if !onContext { offContext += 1 }
                if n > 0 { bytes += chunk[0..<n] }
            }
        }

        func writable() {
            let onContext = queue?.isCurrent ?? false
            lock.withLock {
                writableCalls += 1
                if !onContext { offContext += 1 }
            }
        }

        func tick(now: UInt64) {
            lock.withLock { ticks.append(now) }
        }

        func snapshot<T>(_ read: (Recorder) -> T) -> T { lock.withLock { read(self) } }
    }

    /// A connected pair of non-blocking stream sockets.
    func socketPair() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        #if canImport(Glibc)
        let type = Int32(SOCK_STREAM.rawValue)
        #else
        let type = SOCK_STREAM
        #endif
        guard socketpair(AF_UNIX, type, 0, &fds) == 0 else { throw SocketError.failed(operation: "socketpair", errno: errno) }
        for fd in fds { XCTAssertEqual(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0) }
        return (fds[0], fds[1])
    }

    func makeQueue(_ backend: EventBackend, failures: NSLock? = nil) throws -> any EventQueue {
        let queue = try backend.makeQueues(count: 1) { error in XCTFail("queue failure: \(error)") }[0]
        try queue.start(tickInterval: 20_000_000)
        return queue
    }

    /// Polls `condition` until it holds or 5 s pass.
    func eventually(_ what: String, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(5)
        while !condition() {
            if Date() > deadline {
                XCTFail("timed out waiting for: \(what)")
                return
            }
            usleep(2_000)
        }
    }

    /// `setInterest` on the queue's context, as the contract asks.
    func setInterest(_ interest: EventInterest, _ registration: any EventRegistration, on queue: any EventQueue) throws {
        try queue.sync { Result { () throws(SocketError) in try registration.setInterest(interest) } }.get()
    }

    func cancel(_ registration: any EventRegistration, on queue: any EventQueue) {
        queue.sync { registration.cancel() }
    }

    func register(_ queue: any EventQueue, _ fd: Int32, _ recorder: Recorder, interest: EventInterest) throws -> any EventRegistration {
        let result = queue.sync { () -> Result<any EventRegistration, SocketError> in
            Result { () throws(SocketError) in try queue.register(Socket(fd: fd), interest: interest, handler: recorder) }
        }
        return try result.get()
    }

    func testReadinessIsReportedOnTheQueueForTheInterestAskedFor() throws {
        for backend in EventBackend.allCases {
            let queue = try makeQueue(backend)
            let (mine, peer) = try socketPair()
            let recorder = Recorder(fd: mine)
            recorder.queue = queue
            let registration = try register(queue, mine, recorder, interest: .read)

            XCTAssertEqual(send(peer, "hello", 5, 0), 5)
            eventually("\(backend): bytes read") { recorder.snapshot { $0.bytes } == Array("hello".utf8) }
            XCTAssertEqual(recorder.snapshot { $0.writableCalls }, 0, "\(backend): writable without write interest")

            // No interest: bytes wait in the socket, no call.
            try setInterest([], registration, on: queue)
            let calls = recorder.snapshot { $0.readableCalls }
            XCTAssertEqual(send(peer, "again", 5, 0), 5)
            usleep(100_000)
            XCTAssertEqual(recorder.snapshot { $0.readableCalls }, calls, "\(backend): readable after interest was dropped")

            try setInterest([.read, .write], registration, on: queue)
            eventually("\(backend): the waiting bytes read") { recorder.snapshot { $0.bytes } == Array("helloagain".utf8) }
            eventually("\(backend): writable") { recorder.snapshot { $0.writableCalls } > 0 }
            try setInterest(.read, registration, on: queue)
            XCTAssertEqual(recorder.snapshot { $0.offContext }, 0, "\(backend): a call off the queue's context")

            cancel(registration, on: queue)
            eventually("\(backend): descriptor closed") { fcntl(mine, F_GETFD) == -1 && errno == EBADF }
            eventually("\(backend): handler let go") { queue.sync { queue.handlers.isEmpty } }
            XCTAssertEqual(close(peer), 0)
            queue.stop()
        }
    }

    func testTicksArriveWithTheClock() throws {
        for backend in EventBackend.allCases {
            let queue = try makeQueue(backend)
            let (mine, peer) = try socketPair()
            let recorder = Recorder(fd: mine)
            let registration = try register(queue, mine, recorder, interest: .read)
            eventually("\(backend): three ticks") { recorder.snapshot { $0.ticks.count } >= 3 }
            let ticks = recorder.snapshot { $0.ticks }
            XCTAssertEqual(ticks, ticks.sorted(), "\(backend): ticks out of order")
            cancel(registration, on: queue)
            eventually("\(backend): descriptor closed") { fcntl(mine, F_GETFD) == -1 && errno == EBADF }
            XCTAssertEqual(close(peer), 0)
            queue.stop()
        }
    }

    func testTasksRunInOrderOnTheQueue() throws {
        for backend in EventBackend.allCases {
            let queue = try makeQueue(backend)
            XCTAssertFalse(queue.isCurrent)
            let lock = NSLock()
            nonisolated(unsafe) var order: [Int] = []
            nonisolated(unsafe) var offContext = 0
            for k in 0..<100 {
                queue.execute {
                    let current = queue.isCurrent
                    lock.withLock {
                        order.append(k)
                        if !current { offContext += 1 }
                    }
                }
            }
            XCTAssertEqual(queue.sync { 42 }, 42)
            XCTAssertEqual(lock.withLock { order }, Array(0..<100), "\(backend)")
            XCTAssertEqual(lock.withLock { offContext }, 0, "\(backend)")
            queue.stop()
        }
    }

    /// A peer that hangs up is reported (readable, then end of stream) and the handler can
    /// pause without the queue spinning on the hang-up.
    func testHangUpWithoutInterestDoesNotSpin() throws {
        for backend in EventBackend.allCases {
            let queue = try makeQueue(backend)
            let (mine, peer) = try socketPair()
            let recorder = Recorder(fd: mine)
            let registration = try register(queue, mine, recorder, interest: .read)
            XCTAssertEqual(close(peer), 0)
            eventually("\(backend): hang-up reported") { recorder.snapshot { $0.readableCalls } > 0 }
            try setInterest([], registration, on: queue)
            usleep(50_000)
            let calls = recorder.snapshot { $0.readableCalls }
            usleep(100_000)
            XCTAssertEqual(recorder.snapshot { $0.readableCalls }, calls, "\(backend): the queue spins on a hang-up nobody listens for")
            cancel(registration, on: queue)
            eventually("\(backend): descriptor closed") { fcntl(mine, F_GETFD) == -1 && errno == EBADF }
            queue.stop()
        }
    }
}
