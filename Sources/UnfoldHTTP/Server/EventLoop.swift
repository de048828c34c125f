import Dispatch

/// A serial queue that owns a set of connections: their sources fire on it, their
/// state is touched only on it, and its timer enforces their deadlines.
final class EventLoop: @unchecked Sendable {
    let queue: DispatchQueue
    /// Scratch space for reads; safe to share because the queue is serial.
    let readBuffer: UnsafeMutableRawBufferPointer
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var timer: DispatchSourceTimer?

    init(index: Int) {
        queue = DispatchQueue(label: "unfold.loop.\(index)", qos: .userInitiated)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    var isEmpty: Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        return connections.isEmpty
    }

    func startTimer(interval: UInt64) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + .nanoseconds(Int(interval)), repeating: .nanoseconds(Int(interval)), leeway: .milliseconds(20))
        timer.setEventHandler { [unowned self] in
            let now = DispatchTime.now().uptimeNanoseconds
            for connection in Array(connections.values) { connection.tick(now: now) }
        }
        timer.resume()
        self.timer = timer
    }

    func register(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func unregister(_ connection: HTTPConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    /// Asks every connection to finish what it is doing and close.
    func shutdownConnections() {
        let now = DispatchTime.now().uptimeNanoseconds
        for connection in Array(connections.values) { connection.shutdown(now: now) }
    }

    /// Drops every connection at once; returns how many there were.
    func abortConnections() -> Int {
        let all = Array(connections.values)
        for connection in all { connection.abort() }
        return all.count
    }
}
