import Dispatch

/// The Dispatch backend of `EventQueue`: a serial queue that every source of its
/// descriptors targets, so handlers, tasks and ticks of one queue never overlap.
///
/// Each descriptor gets a read source for its whole life and a write source the first
/// time it asks for writability (`DispatchSocketSources`). Interest changes suspend and
/// resume those sources instead of creating new ones. The descriptor is closed on this
/// queue once every source's cancel handler ran, as Dispatch requires.
///
/// On Linux libdispatch watches every source through one epoll set on its manager thread,
/// and re-arms a source there after each delivered event (docs/http-server.md has the cost).
final class DispatchEventQueue: EventQueue, @unchecked Sendable {
    let queue: DispatchQueue
    let readBuffer: UnsafeMutableRawBufferPointer
    private let onFailure: @Sendable (SocketError) -> Void
    /// The descriptors watched now (queue only).
    private var registrations: [Int32: DispatchSocketSources] = [:]
    private var timer: DispatchSourceTimer?
    private static let identity = DispatchSpecificKey<ObjectIdentifier>()

    init(index: Int, onFailure: @escaping @Sendable (SocketError) -> Void) {
        queue = DispatchQueue(label: "unfold.events.\(index)", qos: .userInitiated)
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        self.onFailure = onFailure
        queue.setSpecific(key: Self.identity, value: ObjectIdentifier(self))
    }

    deinit {
        readBuffer.deallocate()
    }

    var isCurrent: Bool {
        DispatchQueue.getSpecific(key: Self.identity) == ObjectIdentifier(self)
    }

    func execute(_ task: @escaping @Sendable () -> Void) {
        queue.async(execute: task)
    }

    func register(_ socket: Socket, interest: EventInterest, handler: EventHandler) throws(SocketError) -> EventRegistration {
        dispatchPrecondition(condition: .onQueue(queue))
        let sources = DispatchSocketSources(socket: socket, handler: handler, queue: self)
        registrations[socket.fd] = sources
        try sources.setInterest(interest)
        return sources
    }

    var handlers: [EventHandler] {
        registrations.values.map(\.handler)
    }

    /// Every source of `sources` ran its cancel handler: forget the descriptor and close it.
    func sourcesCancelled(_ sources: DispatchSocketSources) {
        registrations[sources.socket.fd] = nil
        do {
            try sources.socket.close()
        } catch {
            onFailure(error)
        }
    }

    func start(tickInterval: UInt64) throws(SocketError) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.nanoseconds(Int(tickInterval))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(20))
        timer.setEventHandler { [unowned self] in
            let now = DispatchTime.now().uptimeNanoseconds
            for sources in registrations.values { sources.handler.tick(now: now) }
        }
        self.timer = timer
        timer.resume()
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }
}
