import Foundation
import UnfoldData
import XCTest

/// Deadlines, limits, misbehaving clients, load and shutdown, against the real binary.
final class HTTPResilienceEndToEndTests: XCTestCase {
    /// Slowloris: one byte every 250 ms never completes a head within the 1 s deadline.
    func testSlowHeaderIsDisconnectedAtTheDeadline() throws {
        let server = try ServerProcess(["--header-timeout-seconds", "1"])
        let c = try RawClient(port: server.port)
        let start = Date()
        var answer: WireResponse?
        for byte in RawClient.get("/healthz").utf8 {
            do {
                try c.send([byte])
            } catch {
                break
            }
            usleep(250_000)
            if Date().timeIntervalSince(start) > 1.2 {
                answer = try? c.readResponse()
                break
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(answer?.status, 408)
        XCTAssertEqual(answer?.header("Connection"), "close")
        XCTAssertTrue(c.waitForClose(timeout: 3))
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 4)
        XCTAssertTrue(server.waitForLog("deadline=header"))
    }

    func testStalledBodyTimesOut() throws {
        let server = try ServerProcess(["--body-timeout-seconds", "0.5"])
        let c = try RawClient(port: server.port)
        try c.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        let response = try c.readResponse()
        XCTAssertEqual(response.status, 408)
        XCTAssertTrue(c.waitForClose(timeout: 3))
    }

    func testIdleKeepAliveConnectionIsClosed() throws {
        let server = try ServerProcess(["--idle-timeout-seconds", "0.5"])
        let c = try RawClient(port: server.port)
        try c.send(RawClient.get("/healthz"))
        XCTAssertEqual(try c.readResponse().status, 200)
        let start = Date()
        XCTAssertTrue(c.waitForClose(timeout: 5))
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.3)
    }

    func testConnectionsBeyondTheMaximumGet503() throws {
        let server = try ServerProcess(["--max-connections", "3"])
        var open: [RawClient] = []
        for _ in 0..<3 {
            let c = try RawClient(port: server.port)
            try c.send(RawClient.get("/healthz"))
            XCTAssertEqual(try c.readResponse().status, 200)
            open.append(c)
        }
        let extra = try RawClient(port: server.port)
        let refused = try extra.readResponse()
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.errorCode, "too_many_connections")
        // /metrics counts the refusal and the three open connections.
        try open[0].send(RawClient.get("/metrics"))
        let metrics = try open[0].readResponse().text
        XCTAssertTrue(metrics.contains("unfold_http_connections_total{outcome=\"refused\"} 1\n"), metrics)
        XCTAssertTrue(metrics.contains("unfold_http_connections_total{outcome=\"accepted\"} 3\n"), metrics)
        XCTAssertTrue(metrics.contains("unfold_http_open_connections 3\n"), metrics)
        // A slot frees up when a connection closes.
        open.removeFirst()
        usleep(300_000)
        let again = try RawClient(port: server.port)
        try again.send(RawClient.get("/healthz"))
        XCTAssertEqual(try again.readResponse().status, 200)
    }

    /// A client that pipelines without reading: the server stops reading once its
    /// buffers fill, keeps its memory bounded, serves others, and drops it at the write deadline.
    func testClientThatStopsReadingDoesNotGrowServerMemory() throws {
        let server = try ServerProcess(["--write-timeout-seconds", "2"])
        let warm = try RawClient(port: server.port)
        try warm.send(RawClient.get("/healthz"))
        _ = try warm.readResponse()
        let before = server.residentKiB

        let hog = try RawClient(port: server.port, receiveBuffer: 4096)
        let batch = Array(String(repeating: RawClient.get("/healthz"), count: 1000).utf8)
        var sent = 0
        var peak = before
        var dropped = false
        let until = Date().addingTimeInterval(30)
        while Date() < until && !dropped {
            let n = hog.sendNonBlocking(batch)
            if n > 0 {
                sent += n
            } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                dropped = true
            } else {
                usleep(20_000)
            }
            peak = max(peak, server.residentKiB)
            dropped = dropped || server.log.contains("deadline=write")
        }
        XCTAssertTrue(dropped, "the non-reading client is dropped at the write deadline")
        XCTAssertGreaterThan(sent, 100_000, "the client managed to push some load")
        XCTAssertLessThan(peak - before, 32 * 1024, "server memory grew by \(peak - before) KiB while \(sent) bytes were pushed")

        let other = try RawClient(port: server.port)
        try other.send(RawClient.get("/healthz"))
        XCTAssertEqual(try other.readResponse().status, 200, "others are still served")
    }

    /// Disconnecting mid-response (a reset while responses are still being written)
    /// never kills the server (no SIGPIPE) and does not disturb other clients.
    func testClientDisconnectingMidResponse() throws {
        let server = try ServerProcess()
        let others = DispatchQueue(label: "others")
        let failures = Counter()
        let group = DispatchGroup()
        group.enter()
        let port = server.port
        others.async {
            defer { group.leave() }
            guard let c = try? RawClient(port: port) else { failures.increment(); return }
            for _ in 0..<300 {
                do {
                    try c.send(RawClient.get("/healthz"))
                    if try c.readResponse().status != 200 { failures.increment() }
                } catch { failures.increment() }
            }
        }
        for round in 0..<20 {
            let rude = try RawClient(port: server.port)
            try rude.send(String(repeating: RawClient.get("/missing-\(round)"), count: 2000))
            _ = try rude.readResponse()
            rude.reset()
        }
        XCTAssertEqual(group.wait(timeout: .now() + 120), .success, "the well-behaved clients finish within 2 minutes")
        XCTAssertEqual(failures.value, 0)
        XCTAssertTrue(server.isRunning)
        let c = try RawClient(port: server.port)
        try c.send(RawClient.get("/healthz"))
        XCTAssertEqual(try c.readResponse().status, 200)
    }

    /// EINTR: a storm of SIGHUPs (handled without SA_RESTART, so blocking calls such as the
    /// ingest log's fdatasync are interrupted) while clients probe, hit worker-pool routes
    /// and ingest: every request still succeeds and the server keeps running.
    func testSignalStormInterruptsNothing() throws {
        let root = NSTemporaryDirectory() + "unfold-eintr-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let server = try ServerProcess(["--interaction-log", root + "/log", "--snapshots", root + "/snapshots"])
        let failures = Counter(), done = Counter(), signals = Counter(), acknowledged = Counter()
        let port = server.port
        // The clients run until the storm has delivered a fixed number of signals (and at least
        // 150 rounds each), so how fast this machine answers does not decide how many arrive.
        let wanted = 300
        let clients = (0..<2).map { worker in
            Thread {
                guard let c = try? RawClient(port: port) else { failures.increment(); done.increment(); return }
                var n = 0
                while n < 150 || signals.value < wanted {
                    let body = #"{"interactions":[{"user":"w\#(worker)","item":"i\#(n)"}]}"#
                    let requests: [(String, Int)] = [
                        (RawClient.get("/healthz"), 200),
                        (RawClient.get("/no-such-route"), 404),
                        ("POST /v1/interactions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)", 202),
                    ]
                    for (request, status) in requests {
                        do {
                            try c.send(request)
                            let got = try c.readResponse().status
                            if got != status { failures.increment() } else if status == 202 { acknowledged.increment() }
                        } catch { failures.increment() }
                    }
                    n += 1
                }
                done.increment()
            }
        }
        clients.forEach { $0.start() }
        while done.value < 2 {
            if signals.value < wanted {
                server.signal(SIGHUP)
                signals.increment()
            }
            usleep(1_000)
        }
        XCTAssertEqual(signals.value, wanted)
        XCTAssertEqual(failures.value, 0)
        XCTAssertTrue(server.isRunning)
        XCTAssertTrue(server.waitForLog("SIGHUP: rescanning snapshots"))
        XCTAssertGreaterThanOrEqual(acknowledged.value, 300)
        XCTAssertEqual(try InteractionLog.readAll(directory: root + "/log").records.count, acknowledged.value, "every acknowledged record is on disk")
    }

    /// 500 connections open at once, each doing 20 keep-alive requests.
    func testFiveHundredConcurrentKeepAliveConnections() throws {
        let server = try ServerProcess(["--max-connections", "2000"])
        let connections = try (0..<500).map { _ in try RawClient(port: server.port) }
        var ok = 0
        for _ in 0..<20 {
            for c in connections { try c.send(RawClient.get("/healthz")) }
            for c in connections where try c.readResponse().status == 200 { ok += 1 }
        }
        XCTAssertEqual(ok, 500 * 20)
    }

    /// SIGTERM: stop accepting, close idle connections, finish the request in
    /// progress (with Connection: close), exit 0.
    func testGracefulShutdown() throws {
        let server = try ServerProcess(["--shutdown-grace-seconds", "5"])
        let idle = try RawClient(port: server.port)
        try idle.send(RawClient.get("/healthz"))
        _ = try idle.readResponse()
        let busy = try RawClient(port: server.port)
        try busy.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        usleep(100_000)

        server.signal(SIGTERM)
        XCTAssertTrue(idle.waitForClose(timeout: 3), "idle connection closed at once")
        XCTAssertThrowsError(try RawClient(port: server.port), "no longer accepting")
        XCTAssertTrue(server.isRunning, "still finishing the request in progress")

        try busy.send("defghij")
        let response = try busy.readResponse()
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.header("Connection"), "close")
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
    }

    /// The grace period bounds the wait for a request that never completes.
    func testShutdownGraceIsBounded() throws {
        let server = try ServerProcess(["--shutdown-grace-seconds", "1", "--header-timeout-seconds", "60"])
        let stuck = try RawClient(port: server.port)
        try stuck.send("GET /healthz HTTP/1.1\r\nHo")
        usleep(100_000)
        let start = Date()
        server.signal(SIGINT)
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(elapsed, 0.8)
        XCTAssertLessThan(elapsed, 4)
        XCTAssertTrue(server.log.contains("forced_closed=1"))
    }
}

/// A thread-safe tally for clients running on other threads.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
