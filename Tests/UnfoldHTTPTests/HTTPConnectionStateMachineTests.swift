import XCTest
@testable import UnfoldHTTP

/// The connection's logic on a fake clock: no sockets, no threads.
final class HTTPConnectionStateMachineTests: XCTestCase {
    let second: UInt64 = 1_000_000_000
    var configuration: HTTPConnectionConfiguration {
        HTTPConnectionConfiguration(
            parserLimits: HTTPParserLimits(maxBodyBytes: 100),
            headerTimeout: 2 * second, bodyTimeout: 3 * second, idleTimeout: 5 * second, writeTimeout: 4 * second,
            maxBufferedInputBytes: 256
        )
    }

    typealias Action = HTTPConnectionStateMachine.Action

    func requests(in actions: [Action]) -> [HTTPRequest] {
        actions.compactMap { if case .handle(let r) = $0 { return r } else { return nil } }
    }

    func written(_ actions: [Action]) -> String {
        actions.compactMap { if case .write(let b) = $0 { return String(decoding: b, as: UTF8.self) } else { return nil } }.joined()
    }

    func ok(_ text: String) -> HTTPResponse { .json(.ok, Array(text.utf8)) }

    func testPipelinedRequestsAreHandledOneAtATimeInOrder() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        let bytes = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n"
        var actions = machine.bytesReceived(Array(bytes.utf8), now: 1)
        XCTAssertEqual(requests(in: actions).map(\.path), ["/a"])
        var paths: [String] = []
        for expected in ["/a", "/b", "/c"] {
            actions = machine.responseReady(ok(expected), now: 2, date: "d")
            XCTAssertTrue(written(actions).hasSuffix(expected))
            XCTAssertTrue(requests(in: actions).isEmpty, "no new request before the write drained")
            actions = machine.writesDrained(now: 3)
            paths += requests(in: actions).map(\.path)
        }
        XCTAssertEqual(paths, ["/b", "/c"])
        XCTAssertTrue(machine.isIdle)
    }

    func testConnectionCloseClosesAfterResponse() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), now: 0)
        let actions = machine.responseReady(ok("x"), now: 0, date: "d")
        XCTAssertTrue(written(actions).contains("Connection: close\r\n"))
        XCTAssertEqual(actions.last, .close)
    }

    func testHTTP10KeepAliveIsAnnounced() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8), now: 0)
        let actions = machine.responseReady(ok("x"), now: 0, date: "d")
        XCTAssertTrue(written(actions).contains("Connection: keep-alive\r\n"))
        XCTAssertFalse(actions.contains(.close))
    }

    func testHeadOmitsTheBodyButKeepsItsLength() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: 0)
        let text = written(machine.responseReady(ok("hello"), now: 0, date: "d"))
        XCTAssertTrue(text.contains("Content-Length: 5\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\n"))
    }

    func testExpectContinueSendsInterimResponseBeforeBody() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        var actions = machine.bytesReceived(Array("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n".utf8), now: 0)
        XCTAssertEqual(written(actions), "HTTP/1.1 100 Continue\r\n\r\n")
        actions = machine.writesDrained(now: 0)
        XCTAssertTrue(requests(in: actions).isEmpty)
        actions = machine.bytesReceived(Array("hello".utf8), now: 0)
        XCTAssertEqual(requests(in: actions).first?.body, Array("hello".utf8))
    }

    func testExpectContinueWithTooLargeBodyGetsFinalStatusAndClose() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        let actions = machine.bytesReceived(Array("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 500\r\n\r\n".utf8), now: 0)
        XCTAssertTrue(written(actions).hasPrefix("HTTP/1.1 413 "))
        XCTAssertFalse(written(actions).contains("100 Continue"))
        XCTAssertEqual(actions.last, .close)
    }

    func testProtocolErrorAnswers400AndCloses() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        let actions = machine.bytesReceived(Array("GET / HTTP/1.1\r\nHost : x\r\n\r\n".utf8), now: 0)
        XCTAssertTrue(written(actions).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        XCTAssertTrue(written(actions).contains("Connection: close\r\n"))
        XCTAssertTrue(written(actions).contains(#""code":"bad_request""#))
        XCTAssertEqual(actions.last, .close)
        XCTAssertTrue(machine.bytesReceived(Array("GET / HTTP/1.1\r\n".utf8), now: 0).isEmpty, "input after an error is ignored")
    }

    func testSlowHeaderTimesOutWith408() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        var now: UInt64 = 0
        var actions: [Action] = []
        // One byte a second never completes the head within the 2 s header deadline.
        for byte in "GET / HTTP/1.1\r\n".utf8 {
            now += second
            actions = machine.bytesReceived([byte], now: now)
            actions += machine.tick(now: now)
            if !actions.isEmpty { break }
        }
        XCTAssertTrue(written(actions).hasPrefix("HTTP/1.1 408 "))
        XCTAssertEqual(actions.last, .close)
        XCTAssertLessThanOrEqual(now, 4 * second)
    }

    func testStalledBodyTimesOut() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab".utf8), now: 0)
        XCTAssertTrue(machine.tick(now: 2 * second).isEmpty)
        _ = machine.bytesReceived(Array("cd".utf8), now: 2 * second)
        XCTAssertTrue(machine.tick(now: 4 * second).isEmpty, "progress resets the body deadline")
        let actions = machine.tick(now: 5 * second + 1)
        XCTAssertTrue(written(actions).hasPrefix("HTTP/1.1 408 "))
    }

    func testIdleKeepAliveConnectionClosesSilently() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: 0)
        _ = machine.responseReady(ok("x"), now: 0, date: "d")
        _ = machine.writesDrained(now: second)
        XCTAssertTrue(machine.tick(now: 5 * second).isEmpty)
        XCTAssertEqual(machine.tick(now: 6 * second + 1), [.report(.timeout(.idle)), .close])
    }

    func testNewConnectionMustStartWithinHeaderTimeout() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        XCTAssertEqual(machine.tick(now: 2 * second + 1), [.report(.timeout(.idle)), .close])
    }

    func testUnreadResponseHitsWriteTimeout() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: 0)
        _ = machine.responseReady(ok("x"), now: 0, date: "d")
        machine.writeProgressed(now: second)
        XCTAssertTrue(machine.tick(now: 4 * second).isEmpty)
        XCTAssertEqual(machine.tick(now: 5 * second + 1), [.report(.timeout(.write)), .abort])
    }

    func testReadingPausesWhilePipelinedInputPilesUp() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        let request = Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        _ = machine.bytesReceived(request, now: 0)
        XCTAssertTrue(machine.wantsRead)
        for _ in 0..<20 { _ = machine.bytesReceived(request, now: 0) }
        XCTAssertFalse(machine.wantsRead, "more than maxBufferedInputBytes queued behind a request in flight")
        _ = machine.responseReady(ok("x"), now: 0, date: "d")
        _ = machine.writesDrained(now: 0)
        XCTAssertTrue(machine.wantsRead || !machine.isIdle)
    }

    func testShutdownClosesIdleAndFinishesInFlight() {
        var idle = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        XCTAssertEqual(idle.shutdown(now: 0), [.close])

        var busy = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = busy.bytesReceived(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: 0)
        XCTAssertTrue(busy.shutdown(now: 0).isEmpty)
        let actions = busy.responseReady(ok("x"), now: 0, date: "d")
        XCTAssertTrue(written(actions).contains("Connection: close"))
        XCTAssertEqual(actions.last, .close)
    }

    func testPeerCloseAfterRequestStillGetsResponse() {
        var machine = HTTPConnectionStateMachine(configuration: configuration, now: 0)
        _ = machine.bytesReceived(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: 0)
        XCTAssertTrue(machine.peerClosed(now: 0).isEmpty)
        let actions = machine.responseReady(ok("x"), now: 0, date: "d")
        XCTAssertEqual(actions.last, .close)
    }
}
