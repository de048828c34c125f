import CEpoll
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One thread that owns a set of connections: it waits in `epoll_wait` on their sockets and
/// calls them directly when they are ready, runs the tasks other threads hand it (a wake-up
/// through an eventfd), and enforces the connections' deadlines on a periodic tick. State
/// of its connections is touched only on this thread.
///
/// (Dispatch sources did this before; on Linux every source event passes through
/// libdispatch's manager thread before its handler runs, a thread hop per event.)
final class EventLoop: @unchecked Sendable {
    /// Scratch space for reads; safe to share because one thread uses it.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// The loop's connections by descriptor.
    private var connections: [Int32: HTTPConnection] = [:]
    private var interests: [Int32: UInt32] = [:]
    private let epfd: Int32
    private let wakeFD: Int32
    private let lock = NSLock()
    private var tasks: [() -> Void] = []
    /// The batch being run (loop thread only); swapped with `tasks` by `runTasks`.
    private var running: [() -> Void] = []
    private var wakePending = false
    private var stopped = false
    private var tickInterval: UInt64 = 0
    private var nextTick: UInt64 = .max
    private var loopThread: pthread_t?
    private let done = DispatchSemaphore(value: 0)

    init(index: Int) {
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epfd >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        _ = epoll_ctl(epfd, EPOLL_CTL_ADD, wakeFD, &event)
        let thread = Thread { [unowned self] in run() }
        thread.name = "unfold-loop-\(index)"
        thread.qualityOfService = .userInitiated
        thread.start()
    }

    deinit {
        readBuffer.deallocate()
        close(epfd)
        close(wakeFD)
    }

    /// True on the loop's own thread.
    var inLoop: Bool {
        guard let loopThread else { return false }
        return pthread_equal(loopThread, pthread_self()) != 0
    }

    /// Runs `task` on the loop thread, soon.
    func execute(_ task: @escaping () -> Void) {
        let wake: Bool = lock.withLock {
            tasks.append(task)
            if wakePending { return false }
            wakePending = true
            return true
        }
        if wake {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Runs `task` on the loop thread and waits for its result (never from the loop thread).
    func sync<T>(_ task: @escaping () -> T) -> T {
        precondition(!inLoop, "sync from the loop thread would deadlock")
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: T?
        execute {
            result = task()
            semaphore.signal()
        }
        semaphore.wait()
        return result!
    }

    func startTimer(interval: UInt64) {
        execute { [unowned self] in
            tickInterval = interval
            nextTick = DispatchTime.now().uptimeNanoseconds + interval
        }
    }

    /// Stops the thread once it has run the tasks queued so far.
    func stop() {
        execute { [unowned self] in stopped = true }
        done.wait()
    }

    // MARK: - Connections (loop thread only)

    /// Adds a connection on its descriptor, reported when readable (level-triggered).
    func add(_ connection: HTTPConnection, fd: Int32, read: Bool, write: Bool) {
        connections[fd] = connection
        var event = epoll_event()
        event.events = Self.mask(read: read, write: write)
        event.data.fd = fd
        interests[fd] = event.events
        _ = epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
    }

    /// With no interest the descriptor leaves the epoll set, so a hang-up cannot wake the
    /// loop again and again for a connection that is not listening (as a suspended source).
    func setInterest(_ fd: Int32, read: Bool, write: Bool) {
        let mask = Self.mask(read: read, write: write)
        guard connections[fd] != nil, let current = interests[fd], current != mask else { return }
        var event = epoll_event()
        event.events = mask
        event.data.fd = fd
        interests[fd] = mask
        if mask == 0 {
            _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event)
        } else {
            _ = epoll_ctl(epfd, current == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event)
        }
    }

    /// Forgets a connection's descriptor; call before closing it.
    func remove(_ fd: Int32) {
        guard connections.removeValue(forKey: fd) != nil else { return }
        let current = interests.removeValue(forKey: fd) ?? 0
        var event = epoll_event()
        if current != 0 { _ = epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event) }
    }

    private static func mask(read: Bool, write: Bool) -> UInt32 {
        (read ? EPOLLIN.rawValue | EPOLLRDHUP.rawValue : 0) | (write ? EPOLLOUT.rawValue : 0)
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

    // MARK: - The loop

    private func run() {
        loopThread = pthread_self()
        let capacity = 128
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        while !stopped {
            let now = DispatchTime.now().uptimeNanoseconds
            var timeout: Int32 = -1
            if nextTick != .max {
                timeout = nextTick <= now ? 0 : Int32(min((nextTick - now + 999_999) / 1_000_000, 1000))
            }
            let n = epoll_wait(epfd, events, Int32(capacity), timeout)
            if n < 0 {
                if errno == EINTR { continue }
                fatalError("epoll_wait failed: errno \(errno)")
            }
            for k in 0..<Int(n) {
                let fd = events[k].data.fd
                let flags = events[k].events
                if fd == wakeFD {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                    continue
                }
                // A handler may close and remove another descriptor in this batch: look up each time.
                if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, let handler = connections[fd],
                   (interests[fd] ?? 0) & EPOLLIN.rawValue != 0 {
                    handler.onReadable()
                }
                if flags & (EPOLLOUT.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0, let handler = connections[fd],
                   (interests[fd] ?? 0) & EPOLLOUT.rawValue != 0 {
                    handler.onWritable()
                }
            }
            runTasks()
            if tickInterval > 0 {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= nextTick {
                    nextTick = now + tickInterval
                    for connection in Array(connections.values) { connection.tick(now: now) }
                }
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
