import Foundation

/// Log lines for standard error, written by a background thread. A caller's cost is a lock
/// and an append to a bounded buffer; a request's fields are formatted by the writer, not
/// by the thread that answered the request. When the buffer is full the line is dropped and
/// counted (`dropped`), never queued without bound: under overload, serving wins over logging.
public final class LogWriter: @unchecked Sendable {  // state behind `condition`
    public enum Format: String, Sendable, CaseIterable { case logfmt, json }

    /// What a request log line says, captured as is.
    public struct RequestRecord: Sendable {
        public var time: timespec
        public var method: String
        public var path: String
        public var status: Int
        public var bytes: Int
        public var microseconds: UInt64
        public var peer: String
    }

    enum Entry {
        case line(time: timespec, level: String, message: String, fields: [(String, String)])
        case request(RequestRecord)
    }

    public static let shared = LogWriter()

    public var format: Format {
        get { condition.withLock { _format } }
        set { condition.withLock { _format = newValue } }
    }

    /// Lines dropped because the buffer was full.
    public var dropped: UInt64 { condition.withLock { _dropped } }

    private let condition = NSCondition()
    private var pending: [Entry] = []
    private var writing: [Entry] = []
    private var _format: Format = .logfmt
    private var _dropped: UInt64 = 0
    private var flushRequested = false
    private var flushed = 0, requested = 0
    private let capacity: Int
    private let output: Int32

    /// `capacity` lines may wait; the writer wakes every `interval` seconds, or when half full.
    init(capacity: Int = 65_536, output: Int32 = STDERR_FILENO, interval: Double = 0.05) {
        self.capacity = capacity
        self.output = output
        pending.reserveCapacity(1024)
        let thread = Thread { [unowned self] in run(interval: interval) }
        thread.name = "unfold-log-writer"
        thread.qualityOfService = .utility
        thread.start()
    }

    func append(_ entry: Entry) {
        condition.lock()
        if pending.count >= capacity {
            _dropped &+= 1
        } else {
            pending.append(entry)
            if pending.count == capacity / 2 { condition.signal() }
        }
        condition.unlock()
    }

    public func request(_ record: RequestRecord) { append(.request(record)) }

    public func line(level: String, message: String, fields: [(String, String)]) {
        append(.line(time: Self.now(), level: level, message: message, fields: fields))
    }

    /// Waits until everything appended so far is written (shutdown, tests).
    public func flush() {
        condition.lock()
        requested += 1
        let ticket = requested
        flushRequested = true
        condition.broadcast()
        while flushed < ticket { condition.wait() }
        condition.unlock()
    }

    private func run(interval: Double) {
        var text: [UInt8] = []
        text.reserveCapacity(1 << 16)
        var clock = LogLine.TimestampCache()
        while true {
            condition.lock()
            if pending.isEmpty && !flushRequested { _ = condition.wait(until: Date().addingTimeInterval(interval)) }
            swap(&pending, &writing)
            let format = _format
            let ticket = requested
            flushRequested = false
            condition.unlock()

            text.removeAll(keepingCapacity: true)
            for entry in writing { Self.render(entry, format: format, clock: &clock, into: &text) }
            writing.removeAll(keepingCapacity: true)
            if !text.isEmpty { write(text) }

            condition.lock()
            if ticket > flushed {
                flushed = ticket
                condition.broadcast()
            }
            condition.unlock()
        }
    }

    /// All of `bytes` to the output; an error other than EINTR/EAGAIN drops the rest (there
    /// is nowhere left to report it).
    private func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(output, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                return
            }
        }
    }

    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return t
    }

    static func render(_ entry: Entry, format: Format, clock: inout LogLine.TimestampCache, into out: inout [UInt8]) {
        switch entry {
        case .line(let time, let level, let message, let fields):
            LogLine.render(time: time, level: level, message: message, fields: fields, format: format, into: &out)
        case .request(let r):
            LogLine.renderRequest(r, format: format, clock: &clock, into: &out)
        }
    }
}
