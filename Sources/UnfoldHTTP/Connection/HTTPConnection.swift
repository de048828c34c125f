import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Drives one accepted socket on its event loop's thread, executing what
/// `HTTPConnectionStateMachine` decides. All state is confined to the loop's thread.
final class HTTPConnection: @unchecked Sendable {
    private let socket: Socket
    private let loop: EventLoop
    private unowned let server: HTTPServer
    private var machine: HTTPConnectionStateMachine
    private let peer: String

    /// Whether the loop should report the socket readable / writable.
    private var readSuspended = false
    private var writeSuspended = true

    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeWhenFlushed = false
    /// Set once the write side is shut after an error: input is drained and dropped until EOF.
    private var lingerDeadline: UInt64?
    private var eof = false
    private var closed = false

    init(socket: Socket, peer: String, loop: EventLoop, server: HTTPServer, configuration: HTTPConnectionConfiguration) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.server = server
        self.machine = HTTPConnectionStateMachine(configuration: configuration, remoteAddress: peer, now: DispatchTime.now().uptimeNanoseconds)
    }

    func start() {
        loop.add(self, fd: socket.fd, read: true, write: false)
    }

    private func updateInterest() {
        guard !closed else { return }
        loop.setInterest(socket.fd, read: !readSuspended, write: !writeSuspended)
    }

    func onWritable() {
        perform([])
    }

    // MARK: - Events from the loop

    func onReadable() {
        guard !closed else { return }
        let buffer = loop.readBuffer
        let n: Int
        do {
            n = try socket.read(into: buffer)
        } catch .blocked {
            return
        } catch {
            abort()
            return
        }
        let now = DispatchTime.now().uptimeNanoseconds
        if lingerDeadline != nil {
            if n == 0 { abort() }
            return
        }
        if n == 0 {
            eof = true
            perform(machine.peerClosed(now: now))
        } else {
            perform(machine.bytesReceived(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: now))
        }
    }

    func tick(now: UInt64) {
        guard !closed else { return }
        if let deadline = lingerDeadline {
            if now >= deadline { abort() }
            return
        }
        perform(machine.tick(now: now))
    }

    func shutdown(now: UInt64) {
        guard !closed, lingerDeadline == nil else { return }
        perform(machine.shutdown(now: now))
    }

    func responseReady(_ response: HTTPResponse) {
        guard !closed else { return }
        perform(machine.responseReady(response, now: DispatchTime.now().uptimeNanoseconds, date: HTTPDate.now()))
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
                    immediate = server.dispatch(request, on: self, loop: loop)
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
                    abort()
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
                // Answered on the loop: go on with the response in the same pass.
                next = machine.responseReady(immediate, now: DispatchTime.now().uptimeNanoseconds, date: HTTPDate.now())
                continue
            }
            next = flush()
            if next.isEmpty { break }
        }
        updateReadInterest()
    }

    /// After an error response: half-close and drain rather than close at once.
    private var lingerAfterFlush = false

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
                machine.writeProgressed(now: now)
            case .failure(.blocked):
                if writeSuspended {
                    writeSuspended = false
                    updateInterest()
                }
                return []
            case .failure:
                abort()
                return []
            }
        }
        if !writeSuspended {
            writeSuspended = true
            updateInterest()
        }
        // Keep a small buffer for the next response; drop a large one.
        if output.capacity > 1 << 20 { output = [] } else { output.removeAll(keepingCapacity: true) }
        outputOffset = 0
        if closeWhenFlushed {
            if lingerAfterFlush && !eof {
                beginLinger()
            } else {
                abort()
            }
            return []
        }
        return machine.writesDrained(now: now)
    }

    /// RFC 9112 §9.6 — half-close and drain, so the client reads the error response
    /// rather than a reset caused by its own unread bytes.
    private func beginLinger() {
        _ = Glibc.shutdown(socket.fd, Int32(SHUT_WR))
        lingerDeadline = DispatchTime.now().uptimeNanoseconds + server.configuration.lingerTimeout
        if readSuspended {
            readSuspended = false
            updateInterest()
        }
    }

    private func updateReadInterest() {
        guard !closed, lingerDeadline == nil else { return }
        let wanted = machine.wantsRead && !eof
        if wanted && readSuspended {
            readSuspended = false
            updateInterest()
        } else if !wanted && !readSuspended {
            readSuspended = true
            updateInterest()
        }
    }

    // MARK: - Closing

    /// Closes now: the loop forgets the descriptor, then it is closed.
    func abort() {
        guard !closed else { return }
        closed = true
        loop.remove(socket.fd)
        socket.close()
        server.connectionClosed()
    }
}
