#if os(Linux)
import CEpoll
import Dispatch
import Foundation

/// The epoll backend of `EventQueue` (Linux): one thread waiting in `epoll_wait`
/// (level-triggered) on its descriptors and an eventfd. Ready descriptors' handlers are
/// called right there; tasks from other threads are queued under a lock and the eventfd
/// wakes the thread; a periodic tick runs between waits. A descriptor with no interest
/// leaves the set, so a hang-up cannot wake the thread again and again.
///
/// (Dispatch sources on Linux pass every event through libdispatch's manager thread and
/// re-arm the descriptor there; this loop has no such hop. docs/http-server.md.)
final class EpollEventQueue: EventQueue, @unchecked Sendable {
    let readBuffer: UnsafeMutableRawBufferPointer
    let epoll: Epoll
    private let wake: EventFD
    private let index: Int
    /// Where failures that belong to no one call go (the server reports them).
    let onFailure: @Sendable (SocketError) -> Void
    /// The descriptors watched now (loop thread only).
    private var registrations: [Int32: EpollRegistration] = [:]
    private let lock = NSLock()
    private var tasks: [@Sendable () -> Void] = []
    /// The batch being run (loop thread only); swapped with `tasks` by `runTasks`.
    private var running: [@Sendable () -> Void] = []
    private var wakePending = false
    private var stopped = false
    private var tickInterval: UInt64 = 0
    private var nextTick: UInt64 = .max
    private var loopThread: pthread_t?
    private var started = false
    private let done = DispatchSemaphore(value: 0)

    init(index: Int, onFailure: @escaping @Sendable (SocketError) -> Void) throws(SocketError) {
        let epoll = try Epoll()
        let wake: EventFD
        do {
            wake = try EventFD()
        } catch {
            throw epoll.close(after: error)
        }
        do {
            try epoll.add(wake.fd, events: EPOLLIN.rawValue)
        } catch {
            throw epoll.close(after: wake.close(after: error))
        }
        self.epoll = epoll
        self.wake = wake
        self.index = index
        self.onFailure = onFailure
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
        do { try wake.close() } catch { onFailure(error) }
        do { try epoll.close() } catch { onFailure(error) }
    }

    var isCurrent: Bool {
        guard let loopThread else { return false }
        return pthread_equal(loopThread, pthread_self()) != 0
    }

    func execute(_ task: @escaping @Sendable () -> Void) {
        let signal: Bool = lock.withLock {
            tasks.append(task)
            if wakePending { return false }
            wakePending = true
            return true
        }
        guard signal else { return }
        do {
            try wake.signal()
        } catch {
            // The task stays queued and runs on the next wake-up or tick.
            onFailure(error)
        }
    }

    func register(_ socket: Socket, interest: EventInterest, handler: EventHandler) throws(SocketError) -> EventRegistration {
        let registration = EpollRegistration(socket: socket, handler: handler, queue: self)
        try registration.setInterest(interest)
        registrations[socket.fd] = registration
        return registration
    }

    var handlers: [EventHandler] {
        registrations.values.map(\.handler)
    }

    /// Forgets a cancelled registration and closes its descriptor: at once on the loop
    /// thread (a later event of the batch finds no registration); from elsewhere as a task,
    /// so the number cannot be reused while the loop may still hold an event for it.
    func deregister(_ registration: EpollRegistration) {
        if isCurrent {
            finish(registration)
        } else {
            execute { [self] in finish(registration) }
        }
    }

    private func finish(_ registration: EpollRegistration) {
        registrations[registration.socket.fd] = nil
        do {
            try registration.socket.close()
        } catch {
            onFailure(error)
        }
    }

    func start(tickInterval: UInt64) throws(SocketError) {
        self.tickInterval = max(tickInterval, 1_000_000)
        nextTick = DispatchTime.now().uptimeNanoseconds + self.tickInterval
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "unfold-epoll-\(index)"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    func stop() {
        guard started else { return }
        execute { [self] in stopped = true }
        done.wait()
    }

    // MARK: - The loop

    private func run() {
        loopThread = pthread_self()
        let capacity: Int32 = 128
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        while !stopped {
            let now = DispatchTime.now().uptimeNanoseconds
            let timeout = nextTick <= now ? 0 : Int32(min((nextTick - now + 999_999) / 1_000_000, 1000))
            let n: Int
            do {
                n = try epoll.wait(events, capacity: capacity, timeout: timeout)
            } catch {
                // Not a condition that passes (a bad descriptor or argument): reported, and
                // retried at a pace that cannot flood the log or spin a core.
                onFailure(error)
                usleep(100_000)
                continue
            }
            for k in 0..<n {
                let fd = events[k].data.fd
                let flags = events[k].events
                if fd == wake.fd {
                    do { try wake.drain() } catch { onFailure(error) }
                    continue
                }
                // A handler may close another descriptor of this batch: look up each time.
                if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                   let registration = registrations[fd] {
                    registration.handler.readable()
                }
                if flags & (EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0,
                   let registration = registrations[fd] {
                    registration.handler.writable()
                }
            }
            runTasks()
            let after = DispatchTime.now().uptimeNanoseconds
            if after >= nextTick {
                nextTick = after + tickInterval
                for registration in Array(registrations.values) { registration.handler.tick(now: after) }
            }
        }
        done.signal()
    }

    private func runTasks() {
        // Swap the queue with the loop's spare buffer: both keep their capacity, so a
        // batch allocates nothing.
        lock.withLock {
            wakePending = false
            swap(&tasks, &running)
        }
        for task in running { task() }
        running.removeAll(keepingCapacity: true)
    }
}
#endif
