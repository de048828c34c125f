import Dispatch
import Foundation

/// An HTTP/1.1 server on non-blocking BSD sockets.
///
/// One accept source hands connections round-robin to event queues (`EventQueue`:
/// Dispatch sources, 4 queues per core, or epoll, a thread per core) that move bytes; a bounded
/// `WorkerQueue` runs the responder for every route that is not inline and hands the
/// response back to the connection's queue. Lifecycle: `idle → running → shuttingDown → shutdown`.
public final class HTTPServer: @unchecked Sendable {
    public enum State: Sendable { case idle, running, shuttingDown, shutdown }

    public let configuration: HTTPServerConfiguration
    private let responder: HTTPResponder
    private let onEvent: @Sendable (HTTPServerEvent) -> Void
    /// The connection layer's counts, for `/metrics`.
    public let stats: HTTPServerStats
    private var queues: [EventQueue] = []
    private let workers: WorkerQueue
    private let acceptQueue = DispatchQueue(label: "unfold.accept", qos: .userInitiated)
    private var listener: Socket?
    private var acceptSource: DispatchSourceRead?
    private var nextQueue = 0

    private let lock = NSLock()
    private var openConnections = 0
    private var _state: State = .idle

    public init(configuration: HTTPServerConfiguration, responder: HTTPResponder, stats: HTTPServerStats = HTTPServerStats(),
                onEvent: @escaping @Sendable (HTTPServerEvent) -> Void = { _ in }) {
        self.stats = stats
        self.configuration = configuration
        self.responder = responder
        self.onEvent = onEvent
        let cores = ProcessInfo.processInfo.activeProcessorCount
        workers = WorkerQueue(width: configuration.workerThreads > 0 ? configuration.workerThreads : cores, capacity: configuration.maxQueuedRequests)
    }

    public var state: State { lock.withLock { _state } }

    public var connectionCount: Int { lock.withLock { openConnections } }

    /// Requests waiting for a worker now.
    var waitingRequests: Int { workers.waitingCount }

    /// Makes the event queues, binds, listens and starts accepting. Returns the bound port
    /// (useful with port 0).
    @discardableResult
    public func start() throws(SocketError) -> UInt16 {
        try Socket.ignoreBrokenPipeSignal()
        let backend = configuration.eventBackend
        let count = configuration.eventLoops > 0 ? configuration.eventLoops : backend.queuesPerCore * ProcessInfo.processInfo.activeProcessorCount
        let onEvent = self.onEvent
        queues = try backend.makeQueues(count: count) { onEvent(.eventQueueFailed($0)) }
        let socket = try Socket.listen(host: configuration.host, port: configuration.port)
        let port: UInt16
        do {
            port = try socket.localPort()
            for queue in queues { try queue.start(tickInterval: configuration.tickInterval) }
        } catch {
            for queue in queues { queue.stop() }
            throw socket.close(after: error)
        }
        listener = socket
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: acceptQueue)
        source.setEventHandler { [unowned self] in acceptAll() }
        source.setCancelHandler { [onEvent] in
            do throws(SocketError) { try socket.close() } catch { onEvent(.acceptFailed(error)) }
        }
        acceptSource = source
        source.resume()
        lock.withLock { _state = .running }
        onEvent(.listening(host: configuration.host, port: port, backend: configuration.eventBackend))
        return port
    }

    private func acceptAll() {
        guard let listener else { return }
        while true {
            let accepted: (socket: Socket, address: String)?
            do {
                accepted = try listener.accept()
            } catch {
                stats.acceptFailures.increment()
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
                stats.refused.increment()
                reject(client, peer: peer)
                continue
            }
            stats.accepted.increment()
            stats.open.add(1)
            let queue = queues[nextQueue]
            nextQueue = (nextQueue + 1) % queues.count
            queue.execute { [self] in
                HTTPConnection(socket: client, peer: peer, queue: queue, server: self, configuration: configuration.connection).start()
            }
        }
    }

    /// Over the connection limit: a best-effort 503 and close, without buffering.
    private func reject(_ client: Socket, peer: String) {
        var bytes: [UInt8] = []
        HTTPResponse.error(.serviceUnavailable, code: "too_many_connections", message: "the server has \(configuration.maxConnections) open connections; try again later")
            .serialize(into: &bytes, requestVersion: .http1_1, keepAlive: false, omitBody: false, date: HTTPDate.now())
        onEvent(.connectionRejected(peer: peer, open: connectionCount))
        do throws(SocketError) {
            var offset = 0
            while offset < bytes.count {
                let written: Result<Int, SocketError> = bytes.withUnsafeBytes { raw in
                    Result { () throws(SocketError) in try client.write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
                }
                offset += try written.get()
            }
        } catch .blocked {
            // A client whose buffer cannot take ~200 bytes gets the close without them.
        } catch {
            onEvent(.connectionFailed(peer: peer, error))
        }
        do throws(SocketError) {
            try client.close()
        } catch {
            onEvent(.connectionFailed(peer: peer, error))
        }
    }

    /// Runs the responder for a request: right here, on the connection's event queue, for
    /// inline routes; else on a worker, which hands the response back to that queue.
    /// Returns the response when it was computed here.
    func dispatch(_ request: HTTPRequest, from connection: HTTPConnection) -> HTTPResponse? {
        let responder = self.responder
        if responder.runsInline(request) {
            return responder.respond(to: request)
        }
        let queue = connection.queue
        let accepted = workers.submit {
            let response = responder.respond(to: request)
            queue.execute { connection.responseReady(response) }
        }
        if !accepted {
            stats.overloaded.increment()
            onEvent(.workersSaturated(peer: request.remoteAddress))
            return .error(.serviceUnavailable, code: "overloaded", message: "too many requests are waiting for a worker; try again later")
        }
        return nil
    }

    func report(_ event: HTTPServerEvent) {
        if case .connectionReport(_, let report) = event { stats.count(report) }
        onEvent(event)
    }

    func connectionClosed() {
        lock.withLock { openConnections -= 1 }
        stats.open.add(-1)
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
        for queue in queues {
            queue.execute {
                let now = DispatchTime.now().uptimeNanoseconds
                for case let connection as HTTPConnection in queue.handlers { connection.shutdown(now: now) }
            }
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + grace
        waitForDrain(deadline: deadline, completion: completion)
    }

    private func waitForDrain(deadline: UInt64, completion: @escaping @Sendable () -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(20)) { [self] in
            if connectionCount == 0 {
                finish(forced: 0, completion: completion)
            } else if DispatchTime.now().uptimeNanoseconds >= deadline {
                // Aborting closes each descriptor at once, on its queue.
                let forced = queues.reduce(0) { sum, queue in
                    sum + queue.sync {
                        let connections = queue.handlers.compactMap { $0 as? HTTPConnection }
                        for connection in connections { connection.abort() }
                        return connections.count
                    }
                }
                finish(forced: forced, completion: completion)
            } else {
                waitForDrain(deadline: deadline, completion: completion)
            }
        }
    }

    private func finish(forced: Int, completion: @escaping @Sendable () -> Void) {
        workers.stop()
        for queue in queues { queue.stop() }
        lock.withLock { _state = .shutdown }
        onEvent(.shutdownFinished(forced: forced))
        completion()
    }
}
