import Dispatch

/// Drives one accepted socket, executing what `HTTPConnectionStateMachine` decides.
///
/// Everything happens on its event queue's context: readiness, ticks, and a worker's
/// response, which the worker hands over with `queue.execute`. (Writing the response
/// from the worker itself was measured slower on both backends: the queue writes the
/// responses of a burst together, which also saves the client wake-ups; docs/benchmarks.md.)
final class HTTPConnection: EventHandler, @unchecked Sendable {
    private let socket: Socket
    /// The event queue that owns this connection; every call comes on its context.
    let queue: EventQueue
    private var registration: EventRegistration?
    private unowned let server: HTTPServer
    private var machine: HTTPConnectionStateMachine
    private let peer: String

    /// What the queue reports the socket for now.
    private var interest: EventInterest = []

    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeWhenFlushed = false
    /// After an error response: half-close and drain rather than close at once.
    private var lingerAfterFlush = false
    /// Set once the write side is shut after an error: input is drained and dropped until EOF.
    private var lingerDeadline: UInt64?
    private var eof = false
    private var closed = false

    init(socket: Socket, peer: String, queue: EventQueue, server: HTTPServer, configuration: HTTPConnectionConfiguration) {
        self.socket = socket
        self.peer = peer
        self.queue = queue
        self.server = server
        self.machine = HTTPConnectionStateMachine(configuration: configuration, remoteAddress: peer, now: DispatchTime.now().uptimeNanoseconds)
    }

    /// Starts watching the socket; on the queue's context.
    func start() {
        do {
            registration = try queue.register(socket, interest: .read, handler: self)
            interest = .read
        } catch {
            fail(error)
        }
    }

    // MARK: - Calls on the queue's context

    func writable() {
        guard !closed, interest.contains(.write) else { return }
        perform([])
    }

    func tick(now: UInt64) {
        guard !closed else { return }
        if let deadline = lingerDeadline {
            if now >= deadline { close() }
            return
        }
        perform(machine.tick(now: now))
    }

    func shutdown(now: UInt64) {
        guard !closed, lingerDeadline == nil else { return }
        perform(machine.shutdown(now: now))
    }

    /// The handler's response, handed over by the worker that ran it.
    func responseReady(_ response: HTTPResponse) {
        guard !closed else { return }
        perform(machine.responseReady(response, now: DispatchTime.now().uptimeNanoseconds, date: HTTPDate.now()))
    }

    /// Closes now, dropping whatever is queued.
    func abort() {
        close()
    }

    /// Reads what the socket holds into the queue's read buffer (shared by the queue's
    /// connections: one runs at a time) and feeds it to the machine.
    func readable() {
        guard !closed, interest.contains(.read) else { return }
        let buffer = queue.readBuffer
        let n: Int
        do {
            n = try socket.read(into: buffer)
        } catch .blocked {
            return
        } catch {
            fail(error)
            return
        }
        server.stats.bytesRead.increment(by: UInt64(n))
        let now = DispatchTime.now().uptimeNanoseconds
        if lingerDeadline != nil {
            if n == 0 { close() }
            return
        }
        if n == 0 {
            eof = true
            perform(machine.peerClosed(now: now))
        } else {
            perform(machine.bytesReceived(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: now))
        }
    }

    // MARK: - Executing actions

    /// Executes actions until the machine has nothing more to say for now. A loop,
    /// not recursion: a burst of pipelined inline requests must not deepen the stack.
    private func perform(_ actions: [HTTPConnectionStateMachine.Action]) {
        var next = actions
        while !closed {
            var immediate: HTTPResponse?
            for action in next {
                switch action {
                case .handle(let request):
                    immediate = server.dispatch(request, from: self)
                case .write(let bytes):
                    if outputOffset == output.count {
                        output = bytes
                        outputOffset = 0
                    } else {
                        output.append(contentsOf: bytes)
                    }
                case .close:
                    closeWhenFlushed = true
                case .abort:
                    close()
                    return
                case .report(let report):
                    switch report {
                    case .protocolError, .timeout(.header), .timeout(.body): lingerAfterFlush = true
                    case .timeout: break
                    }
                    server.report(.connectionReport(peer: peer, report))
                }
            }
            if let immediate {
                // Answered here: go on with the response in the same pass.
                next = machine.responseReady(immediate, now: DispatchTime.now().uptimeNanoseconds, date: HTTPDate.now())
                continue
            }
            next = flush()
            if next.isEmpty { break }
        }
        updateInterest()
    }

    /// Writes what the socket takes. Returns the machine's next actions once
    /// everything queued is sent; nothing while the socket is full.
    private func flush() -> [HTTPConnectionStateMachine.Action] {
        guard !closed else { return [] }
        let now = DispatchTime.now().uptimeNanoseconds
        while outputOffset < output.count {
            let result: Result<Int, SocketError> = output.withUnsafeBytes { bytes in
                Result { () throws(SocketError) in try socket.write(UnsafeRawBufferPointer(rebasing: bytes[outputOffset...])) }
            }
            switch result {
            case .success(let n):
                outputOffset += n
                server.stats.bytesWritten.increment(by: UInt64(n))
                machine.writeProgressed(now: now)
            case .failure(.blocked):
                return []
            case .failure(let error):
                fail(error)
                return []
            }
        }
        // Keep a small buffer for the next response; drop a large one.
        if output.capacity > 1 << 20 { output = [] } else { output.removeAll(keepingCapacity: true) }
        outputOffset = 0
        if closeWhenFlushed {
            if lingerAfterFlush && !eof {
                beginLinger()
            } else {
                close()
            }
            return []
        }
        return machine.writesDrained(now: now)
    }

    /// RFC 9112 §9.6 — half-close and drain, so the client reads the error response
    /// rather than a reset caused by its own unread bytes.
    private func beginLinger() {
        do {
            try socket.shutdownWrite()
        } catch {
            fail(error)
            return
        }
        lingerDeadline = DispatchTime.now().uptimeNanoseconds + server.configuration.lingerTimeout
    }

    /// Asks the queue for what the connection waits for now: writability while output is
    /// queued, readability while the machine takes bytes (or input is drained after an
    /// error), nothing else. No change, no call.
    private func updateInterest() {
        guard !closed else { return }
        var wanted: EventInterest = []
        if outputOffset < output.count { wanted.insert(.write) }
        if lingerDeadline != nil || (machine.wantsRead && !eof) { wanted.insert(.read) }
        guard wanted != interest, let registration else { return }
        do {
            try registration.setInterest(wanted)
            interest = wanted
        } catch {
            fail(error)
        }
    }

    // MARK: - Closing

    /// A socket or event-queue call failed: report it and close.
    private func fail(_ error: SocketError) {
        server.report(.connectionFailed(peer: peer, error))
        close()
    }

    /// Closes now: the queue stops watching the descriptor and closes it once no event
    /// for it can still arrive.
    private func close() {
        guard !closed else { return }
        closed = true
        if let registration {
            registration.cancel()
            // The registration keeps this connection until the descriptor is closed; letting
            // go of it here leaves no cycle behind.
            self.registration = nil
        } else {
            do { try socket.close() } catch { server.report(.connectionFailed(peer: peer, error)) }
        }
        server.connectionClosed()
    }
}
