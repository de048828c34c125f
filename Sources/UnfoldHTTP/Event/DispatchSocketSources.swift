import Dispatch

/// One descriptor's Dispatch sources: a read source from registration on, a write source
/// from the first time writability is asked for. Both target the queue's serial queue.
/// `setInterest` suspends and resumes them (on the queue, like every call of the owner).
final class DispatchSocketSources: EventRegistration, @unchecked Sendable {
    let socket: Socket
    /// Kept until the descriptor is closed, so a source's handler never outlives it.
    let handler: EventHandler
    private unowned let queue: DispatchEventQueue
    private var read: DispatchSourceRead?
    private var readSuspended = false
    private var write: DispatchSourceWrite?
    private var writeSuspended = false
    private var cancelled = false
    /// Sources whose cancel handler has not run yet (set by `cancel`, counted down on the queue).
    private var cancelling = 0

    init(socket: Socket, handler: EventHandler, queue: DispatchEventQueue) {
        self.socket = socket
        self.handler = handler
        self.queue = queue
    }

    func setInterest(_ interest: EventInterest) throws(SocketError) {
        guard !cancelled else { return }
        if interest.contains(.read) {
            if let read {
                if readSuspended {
                    readSuspended = false
                    read.resume()
                }
            } else {
                let source = DispatchSource.makeReadSource(fileDescriptor: socket.fd, queue: queue.queue)
                source.setEventHandler { [unowned handler] in handler.readable() }
                source.setCancelHandler { [self] in sourceCancelled() }
                read = source
                source.resume()
            }
        } else if let read, !readSuspended {
            readSuspended = true
            read.suspend()
        }
        if interest.contains(.write) {
            if let write {
                if writeSuspended {
                    writeSuspended = false
                    write.resume()
                }
            } else {
                let source = DispatchSource.makeWriteSource(fileDescriptor: socket.fd, queue: queue.queue)
                source.setEventHandler { [unowned handler] in handler.writable() }
                source.setCancelHandler { [self] in sourceCancelled() }
                write = source
                source.resume()
            }
        } else if let write, !writeSuspended {
            writeSuspended = true
            write.suspend()
        }
    }

    func cancel() {
        guard !cancelled else { return }
        cancelled = true
        cancelling = (read == nil ? 0 : 1) + (write == nil ? 0 : 1)
        if cancelling == 0 {
            queue.execute { [self] in queue.sourcesCancelled(self) }
            return
        }
        // A suspended source never runs its cancel handler: resume it after cancelling.
        if let read {
            read.cancel()
            if readSuspended { readSuspended = false; read.resume() }
        }
        if let write {
            write.cancel()
            if writeSuspended { writeSuspended = false; write.resume() }
        }
    }

    /// On the queue, once per source.
    private func sourceCancelled() {
        cancelling -= 1
        guard cancelling == 0 else { return }
        read = nil
        write = nil
        queue.sourcesCancelled(self)
    }
}
