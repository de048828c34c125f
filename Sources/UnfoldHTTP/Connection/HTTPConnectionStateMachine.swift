/// The life of one HTTP/1.1 connection as a pure state machine.
///
/// It owns the parser and decides what happens next; the socket driver only
/// executes its actions and reports back (bytes read, writes drained, the clock).
/// Time is passed in with every event, so tests drive it with a fake clock and
/// no socket at all.
///
/// One request is handled at a time: pipelined requests wait in the parser's
/// buffer until the previous response is fully written, so responses leave in
/// order and a client that does not read cannot make the server buffer more than
/// one response plus `maxBufferedInputBytes` of input.
public struct HTTPConnectionStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Run the handler for this request and call `responseReady` with its response.
        case handle(HTTPRequest)
        /// Queue these bytes for sending; call `writesDrained` once all queued bytes are sent.
        case write([UInt8])
        /// Close once every queued byte is sent.
        case close
        /// Close now and drop whatever is queued.
        case abort
        /// Something the operator may want to read in the log; no effect on the socket.
        case report(HTTPConnectionReport)
    }

    private struct PendingRequest: Sendable {
        var head: HTTPRequestHead
        var body: [UInt8] = []
    }

    public let configuration: HTTPConnectionConfiguration
    public let remoteAddress: String
    private var parser: HTTPParser
    private var pending: PendingRequest?
    /// Version, keep-alive and method of the request at the handler.
    private var inFlight: (version: HTTPVersion, keepAlive: Bool, isHead: Bool)?
    private var writing = false
    private var closing = false
    private var shuttingDown = false
    private var peerClosed = false
    private var requestStarted: UInt64?
    private var lastBodyProgress: UInt64 = 0
    private var lastWriteProgress: UInt64 = 0
    private var idleSince: UInt64
    /// The first request must arrive within the header timeout; later ones within the idle timeout.
    private var servedAny = false

    public init(configuration: HTTPConnectionConfiguration, remoteAddress: String = "", now: UInt64) {
        self.configuration = configuration
        self.remoteAddress = remoteAddress
        self.parser = HTTPParser(limits: configuration.parserLimits)
        self.idleSince = now
    }

    /// Whether the driver should keep reading from the socket.
    public var wantsRead: Bool {
        if closing { return false }
        if inFlight != nil || writing { return parser.bufferedByteCount < configuration.maxBufferedInputBytes }
        return true
    }

    public var isClosing: Bool { closing }

    /// True when nothing of a request is buffered, at the handler or being written.
    public var isIdle: Bool {
        inFlight == nil && !writing && pending == nil && parser.bufferedByteCount == 0 && parser.isAtRequestBoundary
    }

    // MARK: - Events

    public mutating func bytesReceived<C: Collection>(_ bytes: C, now: UInt64) -> [Action] where C.Element == UInt8 {
        guard !closing else { return [] }
        parser.append(bytes)
        return process(now: now)
    }

    public mutating func bytesReceived(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> [Action] {
        guard !closing else { return [] }
        parser.append(bytes)
        return process(now: now)
    }

    /// The handler's answer to the request last given out with `.handle`.
    public mutating func responseReady(_ response: HTTPResponse, now: UInt64, date: String) -> [Action] {
        guard let request = inFlight else { return [] }
        inFlight = nil
        servedAny = true
        let keepAlive = request.keepAlive && !shuttingDown && !peerClosed && !closing
        var bytes: [UInt8] = []
        response.serialize(into: &bytes, requestVersion: request.version, keepAlive: keepAlive, omitBody: request.isHead, date: date)
        var actions = startWrite(bytes, now: now)
        if !keepAlive {
            closing = true
            actions.append(.close)
        }
        return actions
    }

    /// Some queued bytes were sent but not all (the socket would block).
    public mutating func writeProgressed(now: UInt64) {
        lastWriteProgress = now
    }

    /// Every queued byte is sent.
    public mutating func writesDrained(now: UInt64) -> [Action] {
        guard writing else { return [] }
        writing = false
        idleSince = now
        if closing { return [] }
        var actions = process(now: now)
        actions += closeIfDone()
        return actions
    }

    /// The peer closed its sending side (read returned 0).
    public mutating func peerClosed(now: UInt64) -> [Action] {
        guard !closing else { return [] }
        peerClosed = true
        var actions = process(now: now)
        actions += closeIfDone()
        return actions
    }

    /// The server is shutting down: close now if idle, else after the current response.
    public mutating func shutdown(now: UInt64) -> [Action] {
        guard !closing else { return [] }
        shuttingDown = true
        return closeIfDone()
    }

    /// The clock moved on: enforce the deadlines.
    public mutating func tick(now: UInt64) -> [Action] {
        if writing {
            if now &- lastWriteProgress > configuration.writeTimeout {
                closing = true
                return [.report(.timeout(.write)), .abort]
            }
            return []
        }
        if closing || inFlight != nil { return [] }
        if pending != nil {
            if now &- lastBodyProgress > configuration.bodyTimeout {
                return fail(.requestTimeout, code: "request_timeout", message: "request body not received in time", now: now, report: .timeout(.body))
            }
            return []
        }
        if let started = requestStarted {
            if now &- started > configuration.headerTimeout {
                return fail(.requestTimeout, code: "request_timeout", message: "request header not received in time", now: now, report: .timeout(.header))
            }
            return []
        }
        let limit = servedAny ? configuration.idleTimeout : configuration.headerTimeout
        if now &- idleSince > limit {
            closing = true
            return [.report(.timeout(.idle)), .close]
        }
        return []
    }

    // MARK: - Internals

    private mutating func process(now: UInt64) -> [Action] {
        var actions: [Action] = []
        while inFlight == nil && !writing && !closing {
            let event: HTTPParserEvent?
            do {
                event = try parser.next()
            } catch {
                actions += fail(error.status, code: error.code, message: error.description, now: now, report: .protocolError(error))
                return actions
            }
            guard let event else { break }
            switch event {
            case .head(let head):
                requestStarted = nil
                lastBodyProgress = now
                pending = PendingRequest(head: head)
                // RFC 9110 §10.1.1 — tell the client to go on only when a body is expected.
                if head.expectsContinue && parser.expectsBody && head.version == .http1_1 {
                    actions += startWrite(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), now: now)
                }
            case .body(let bytes):
                lastBodyProgress = now
                pending?.body.append(contentsOf: bytes)
            case .end:
                guard let request = pending else { break }
                pending = nil
                inFlight = (request.head.version, request.head.keepAlive, request.head.method == "HEAD")
                actions.append(.handle(HTTPRequest(head: request.head, body: request.body, remoteAddress: remoteAddress)))
            }
        }
        if pending == nil && inFlight == nil && requestStarted == nil
            && (parser.bufferedByteCount > 0 || !parser.isAtRequestBoundary) {
            requestStarted = now
        }
        return actions
    }

    private mutating func startWrite(_ bytes: [UInt8], now: UInt64) -> [Action] {
        if !writing { lastWriteProgress = now }
        writing = true
        return [.write(bytes)]
    }

    /// Answers an error with a final response and closes (no response has started:
    /// one request is in progress at a time and it never reached the handler).
    private mutating func fail(_ status: HTTPStatus, code: String, message: String, now: UInt64, report: HTTPConnectionReport) -> [Action] {
        var bytes: [UInt8] = []
        HTTPResponse.error(status, code: code, message: message)
            .serialize(into: &bytes, requestVersion: .http1_1, keepAlive: false, omitBody: false, date: HTTPDate.now())
        var actions: [Action] = [.report(report)]
        actions += startWrite(bytes, now: now)
        closing = true
        pending = nil
        actions.append(.close)
        return actions
    }

    private mutating func closeIfDone() -> [Action] {
        guard !closing, inFlight == nil, !writing else { return [] }
        if (shuttingDown && pending == nil && parser.bufferedByteCount == 0) || peerClosed {
            closing = true
            return [.close]
        }
        return []
    }
}

/// Events of a connection worth a log line.
public enum HTTPConnectionReport: Sendable, Equatable {
    public enum Deadline: String, Sendable { case header, body, idle, write }
    case protocolError(HTTPParserError)
    case timeout(Deadline)
}
