import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on non-blocking BSD sockets and Dispatch.
///
/// One accept source hands connections round-robin to event loops (one thread per
/// core by default) that move bytes; a bounded pool of worker threads runs the
/// responder. Lifecycle: `starting → running → shuttingDown → shutdown`.
public final class HTTPServer: @unchecked Sendable {
    public enum State: Sendable { case idle, running, shuttingDown, shutdown }

    public let configuration: HTTPServerConfiguration
    private let responder: HTTPResponder
    private let onEvent: @Sendable (HTTPServerEvent) -> Void
    private let loops: [EventLoop]
    private let pool: WorkerPool
    private let acceptQueue = DispatchQueue(label: "unfold.accept", qos: .userInitiated)
    private var listener: Socket?
    private var acceptSource: DispatchSourceRead?
    private var nextLoop = 0

    private let lock = NSLock()
    private var openConnections = 0
    private var _state: State = .idle

    public init(configuration: HTTPServerConfiguration, responder: HTTPResponder, onEvent: @escaping @Sendable (HTTPServerEvent) -> Void = { _ in }) {
        self.configuration = configuration
        self.responder = responder
        self.onEvent = onEvent
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let loopCount = configuration.eventLoops > 0 ? configuration.eventLoops : cores
        loops = (0..<loopCount).map { EventLoop(index: $0) }
        pool = WorkerPool(threads: configuration.workerThreads > 0 ? configuration.workerThreads : cores, capacity: configuration.maxQueuedRequests)
    }

    public var state: State { lock.withLock { _state } }

    public var connectionCount: Int { lock.withLock { openConnections } }

    /// Binds, listens and starts accepting. Returns the bound port (useful with port 0).
    @discardableResult
    public func start() throws(SocketError) -> UInt16 {
        // A write to a closed peer must be an EPIPE error, never a fatal signal.
        signal(SIGPIPE, SIG_IGN)
        let socket = try Socket.listen(host: configuration.host, port: configuration.port)
        listener = socket
        for loop in loops { loop.startTimer(interval: configuration.tickInterval) }
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: acceptQueue)
        source.setEventHandler { [unowned self] in acceptAll() }
        source.setCancelHandler { socket.close() }
        acceptSource = source
        source.resume()
        lock.withLock { _state = .running }
        let port = socket.localPort
        onEvent(.listening(host: configuration.host, port: port))
        return port
    }

    private func acceptAll() {
        guard let listener else { return }
        while true {
            let accepted: (socket: Socket, address: String)?
            do {
                accepted = try listener.accept()
            } catch {
                onEvent(.acceptFailed(error))
                // Out of descriptors: pause accepting briefly instead of spinning.
                acceptSource?.suspend()
                acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in self?.acceptSource?.resume() }
                return
            }
            guard let (client, peer) = accepted else { return }
            let admitted: Bool = lock.withLock {
                guard _state == .running, openConnections < configuration.maxConnections else { return false }
                openConnections += 1
                return true
            }
            guard admitted else {
                reject(client, peer: peer)
                continue
            }
            let loop = loops[nextLoop]
            nextLoop = (nextLoop + 1) % loops.count
            loop.execute { [self] in
                let connection = HTTPConnection(socket: client, peer: peer, loop: loop, server: self, configuration: configuration.connection)
                connection.start()
            }
        }
    }

    /// Over the connection limit: a best-effort 503 and close, without buffering.
    private func reject(_ client: Socket, peer: String) {
        var bytes: [UInt8] = []
        HTTPResponse.error(.serviceUnavailable, code: "too_many_connections", message: "the server has \(configuration.maxConnections) open connections; try again later")
            .serialize(into: &bytes, requestVersion: .http1_1, keepAlive: false, omitBody: false, date: HTTPDate.now())
        _ = bytes.withUnsafeBytes { try? client.write($0) }
        client.close()
        onEvent(.connectionRejected(peer: peer, open: connectionCount))
    }

    /// Runs the responder for a request: on the loop for inline routes, else on a worker.
    /// Returns the response when it was computed inline.
    func dispatch(_ request: HTTPRequest, on connection: HTTPConnection, loop: EventLoop) -> HTTPResponse? {
        let responder = self.responder
        if responder.runsInline(request) {
            return responder.respond(to: request)
        }
        let accepted = pool.submit {
            let response = responder.respond(to: request)
            loop.execute { connection.responseReady(response) }
        }
        if !accepted {
            onEvent(.workersSaturated(peer: request.remoteAddress))
            return .error(.serviceUnavailable, code: "overloaded", message: "too many requests are waiting for a worker; try again later")
        }
        return nil
    }

    func report(_ event: HTTPServerEvent) {
        onEvent(event)
    }

    func connectionClosed() {
        lock.withLock { openConnections -= 1 }
    }

    /// Stops accepting, lets in-flight requests finish and idle connections close,
    /// then drops whatever is left after `grace` nanoseconds and calls `completion`.
    public func shutdown(grace: UInt64, completion: @escaping @Sendable () -> Void) {
        let proceed: Bool = lock.withLock {
            guard _state == .running else { return false }
            _state = .shuttingDown
            return true
        }
        guard proceed else { return }
        onEvent(.shutdownStarted(open: connectionCount))
        acceptQueue.sync {
            acceptSource?.cancel()
            acceptSource = nil
        }
        for loop in loops { loop.execute { loop.shutdownConnections() } }
        let deadline = DispatchTime.now().uptimeNanoseconds + grace
        waitForDrain(deadline: deadline, completion: completion)
    }

    private func waitForDrain(deadline: UInt64, completion: @escaping @Sendable () -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { [self] in
            if connectionCount == 0 {
                finish(forced: 0, completion: completion)
            } else if DispatchTime.now().uptimeNanoseconds >= deadline {
                // Aborting closes each descriptor at once, on its loop.
                let forced = loops.reduce(0) { sum, loop in sum + loop.sync { loop.abortConnections() } }
                finish(forced: forced, completion: completion)
            } else {
                waitForDrain(deadline: deadline, completion: completion)
            }
        }
    }

    private func finish(forced: Int, completion: @escaping @Sendable () -> Void) {
        pool.stop()
        for loop in loops { loop.stop() }
        lock.withLock { _state = .shutdown }
        onEvent(.shutdownFinished(forced: forced))
        completion()
    }
}
