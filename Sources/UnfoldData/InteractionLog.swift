import Foundation

/// The durable interaction log: append-only segment files, one record per line,
///
///     CRC32-hex8 TAB user TAB item TAB weight TAB timestamp [TAB type] LF
///
/// where the CRC-32 covers everything after the first tab (without the LF). The type (an
/// event type of `event_types`) is written only when the record has one; a negative weight
/// comes only from a type (a dislike). A batch is
/// acknowledged only once it is on disk: appends are written by one thread that takes every
/// batch waiting at that moment, writes them with one `write` and one `fdatasync` (group
/// commit), then wakes their senders. On open, a torn last record (a crash mid-write) is
/// detected and cut off.
///
/// Sendable by hand: the queue (`pending`, tickets, `failure`, `stopped`) is read and written
/// only under `condition`; the segment state (`fd`, `segmentIndex`, `segmentSize`) is touched
/// only by `init` and then by the one writer thread; the rest is `let`.
public final class InteractionLog: @unchecked Sendable {
    public struct Record: Sendable, Equatable {
        public var user: String
        public var item: String
        public var weight: Float
        public var timestamp: Double
        /// The event type the weight came from, if the sender named one.
        public var type: String?
        public init(user: String, item: String, weight: Float, timestamp: Double, type: String? = nil) {
            self.user = user
            self.item = item
            self.weight = weight
            self.timestamp = timestamp
            self.type = type
        }
    }

    /// Where a record sits: its segment's number and its byte offset in that segment. Every
    /// record written later sits after it.
    public struct Position: Sendable, Equatable, Comparable, Codable {
        public var segment: Int
        public var offset: Int
        public init(segment: Int, offset: Int) {
            self.segment = segment
            self.offset = offset
        }
        public static func < (a: Position, b: Position) -> Bool { (a.segment, a.offset) < (b.segment, b.offset) }
    }

    /// The longest event type name; types are letters, digits, `_`, `-` and `.`.
    public static let maxTypeBytes = 64

    public struct Recovery: Sendable, Equatable {
        public var segment: String
        public var truncatedBytes: Int
    }

    public enum LogError: Error, Equatable, CustomStringConvertible {
        case io(String)
        case invalid(index: Int, reason: String)
        public var description: String {
            switch self {
            case .io(let m): return "interaction log: \(m)"
            case .invalid(let index, let reason): return "interactions[\(index)]: \(reason)"
            }
        }
    }

    /// What one group commit wrote: the batches (requests) it took, their bytes, and how long
    /// the `fdatasync` took. Reported from the writer thread, after the senders are woken.
    public struct Commit: Sendable {
        public var batches: Int
        public var bytes: Int
        public var syncNanoseconds: UInt64
    }

    public let directory: String
    public let segmentBytes: Int
    private let onCommit: (@Sendable (Commit) -> Void)?
    /// What `open` cut off, if anything.
    public let recovery: Recovery?

    private let condition = NSCondition()
    private var pending: [(bytes: [UInt8], ticket: Int)] = []
    private var nextTicket = 0
    private var durableTicket = -1
    private var failure: String?
    private var fd: Int32 = -1
    private var segmentIndex = 0
    private var segmentSize = 0
    private var stopped = false
    /// The end of what is on disk, as of the last commit; read under `condition`.
    private var durableEnd = Position(segment: 0, offset: 0)

    public init(directory: String, segmentBytes: Int = 64 << 20, onCommit: (@Sendable (Commit) -> Void)? = nil) throws(LogError) {
        self.directory = directory
        self.segmentBytes = segmentBytes
        self.onCommit = onCommit
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .io("cannot create \(directory): \(error)")
        }
        let segments = Self.segments(in: directory)
        segmentIndex = segments.last.map { Self.index(of: $0) } ?? 1
        let path = Self.segmentPath(directory, segmentIndex)
        recovery = FileManager.default.fileExists(atPath: path) ? try Self.repairTail(path) : nil
        try openSegment(segmentIndex)
        durableEnd = Position(segment: segmentIndex, offset: segmentSize)
        let writer = Thread { [weak self] in self?.writeLoop() }
        writer.name = "unfold-interaction-log"
        writer.start()
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    public func close() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Checks a record the way `append` will; nil when it is fine.
    public static func problem(with record: Record) -> String? {
        for (name, id) in [("user", record.user), ("item", record.item)] {
            if id.isEmpty { return "\(name) must not be empty" }
            if id.utf8.count > 512 { return "\(name) is longer than 512 bytes" }
            // A control character is one byte in UTF-8, and no byte of another character is below 0x80.
            if id.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "\(name) contains a control character" }
        }
        if !record.weight.isFinite { return "weight must be a finite number" }
        if !record.timestamp.isFinite { return "timestamp must be a finite number" }
        if let type = record.type {
            if type.isEmpty || type.utf8.count > maxTypeBytes { return "type must be 1 to \(maxTypeBytes) bytes" }
            if !type.utf8.allSatisfy({ isTypeByte($0) }) { return "type may hold only letters, digits, '_', '-' and '.'" }
        }
        return nil
    }

    static func isTypeByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
    }

    /// The end of the log as of the last commit: every acknowledged record sits before it.
    public var end: Position {
        condition.lock()
        defer { condition.unlock() }
        return durableEnd
    }

    /// Appends a batch and returns once it is on disk. Either every record is written or,
    /// when one is invalid, none is.
    public func append(_ records: [Record]) throws(LogError) {
        for (index, record) in records.enumerated() {
            if let reason = Self.problem(with: record) { throw .invalid(index: index, reason: reason) }
        }
        var bytes: [UInt8] = []
        for record in records { bytes += Self.encode(record) }
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw .io(failure) }
        let ticket = nextTicket
        nextTicket += 1
        pending.append((bytes, ticket))
        condition.broadcast()
        while durableTicket < ticket && failure == nil { condition.wait() }
        if durableTicket < ticket, let failure { throw .io(failure) }
    }

    private func writeLoop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped {
                condition.unlock()
                return
            }
            let batch = pending
            pending.removeAll()
            condition.unlock()

            var bytes: [UInt8] = []
            for item in batch { bytes += item.bytes }
            var syncNanoseconds: UInt64 = 0
            let error = writeDurably(bytes, syncNanoseconds: &syncNanoseconds)
            condition.lock()
            if let error { failure = error } else {
                durableTicket = batch.last!.ticket
                durableEnd = Position(segment: segmentIndex, offset: segmentSize)
            }
            condition.broadcast()
            condition.unlock()
            if error == nil { onCommit?(Commit(batches: batch.count, bytes: bytes.count, syncNanoseconds: syncNanoseconds)) }
        }
    }

    private func writeDurably(_ bytes: [UInt8], syncNanoseconds: inout UInt64) -> String? {
        if segmentSize > 0 && segmentSize + bytes.count > segmentBytes {
            Glibc.close(fd)
            do { try openSegment(segmentIndex + 1) } catch { return "\(error)" }
        }
        if let failure = writeAll(bytes, to: fd) { return failure }
        segmentSize += bytes.count
        let syncStart = DispatchTime.now().uptimeNanoseconds
        if let failure = syncData(fd) { return failure }
        syncNanoseconds = DispatchTime.now().uptimeNanoseconds - syncStart
        return nil
    }

    private func openSegment(_ index: Int) throws(LogError) {
        let path = segmentPath(index)
        let created = !FileManager.default.fileExists(atPath: path)
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
        segmentIndex = index
        segmentSize = Int(lseek(fd, 0, SEEK_END))
        if created {
            // The new directory entry must be durable too.
            let dir = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dir >= 0 { fsync(dir); Glibc.close(dir) }
        }
    }

    private func segmentPath(_ index: Int) -> String { Self.segmentPath(directory, index) }

    private static func segmentPath(_ directory: String, _ index: Int) -> String {
        (directory as NSString).appendingPathComponent(String(format: "segment-%08d.log", index))
    }

    // MARK: - Format

    static func encode(_ r: Record) -> [UInt8] {
        let weight = r.weight == r.weight.rounded() && abs(r.weight) < 1e7 ? String(Int(r.weight)) : String(r.weight)
        let timestamp = r.timestamp == r.timestamp.rounded() && abs(r.timestamp) < 1e15 ? String(Int64(r.timestamp)) : String(r.timestamp)
        return ChecksummedLine.encode(Array("\(r.user)\t\(r.item)\t\(weight)\t\(timestamp)\(r.type.map { "\t" + $0 } ?? "")".utf8))
    }


    /// Parses one line (without LF); nil when it is torn, its checksum is wrong, or it holds
    /// a record `append` would refuse (a matching CRC proves only that the bytes are the ones
    /// written, not who wrote them).
    static func decode(_ line: ArraySlice<UInt8>) -> Record? {
        guard let checked = ChecksummedLine.body(line) else { return nil }
        return checked.withUnsafeBufferPointer { body -> Record? in
            // Up to five tab-separated fields, found without building arrays of them.
            var ends = (0, 0, 0, 0, 0), count = 0
            for k in 0...body.count where k == body.count || body[k] == 0x09 {
                switch count {
                case 0: ends.0 = k
                case 1: ends.1 = k
                case 2: ends.2 = k
                case 3: ends.3 = k
                case 4: ends.4 = k
                default: return nil
                }
                count += 1
            }
            guard count == 4 || count == 5 else { return nil }
            func field(_ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: body[from..<to]) }
            guard let user = String(validating: field(0, ends.0), as: UTF8.self),
                  let item = String(validating: field(ends.0 + 1, ends.1), as: UTF8.self),
                  let weight = number(field(ends.1 + 1, ends.2)).map(Float.init) ?? Float(String(decoding: field(ends.1 + 1, ends.2), as: UTF8.self)),
                  let timestamp = number(field(ends.2 + 1, ends.3)) ?? Double(String(decoding: field(ends.2 + 1, ends.3), as: UTF8.self)) else { return nil }
            let type = count == 5 ? String(decoding: field(ends.3 + 1, ends.4), as: UTF8.self) : nil
            let record = Record(user: user, item: item, weight: weight, timestamp: timestamp, type: type)
            return problem(with: record) == nil ? record : nil
        }
    }

    /// A whole number of at most 15 digits with an optional minus (how `encode` writes whole
    /// weights and times), exactly; nil for anything else, which the caller parses in full.
    private static func number(_ text: UnsafeBufferPointer<UInt8>) -> Double? {
        var k = 0, negative = false
        if text.first == 0x2D {
            negative = true
            k = 1
        }
        guard text.count > k, text.count - k <= 15 else { return nil }
        var value: Int64 = 0
        while k < text.count {
            let d = text[k] &- 0x30
            guard d <= 9 else { return nil }
            value = value * 10 + Int64(d)
            k += 1
        }
        return Double(negative ? -value : value)
    }

    /// Cuts a torn tail off a segment: everything from the first bad record, if only bad
    /// bytes follow it. A bad record followed by good ones is left in place (and skipped
    /// by readers): that is damage, not a crash mid-write, and cutting would lose data.
    static func repairTail(_ path: String) throws(LogError) -> Recovery? {
        let bytes: [UInt8]
        do { bytes = try readFileBytes(path: path) } catch { throw .io("\(error)") }
        var start = 0, lastGoodEnd = 0, sawBadBeforeGood = false
        var firstBad: Int?
        while start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: 0x0A) else {
                if firstBad == nil { firstBad = start }
                break
            }
            if decode(bytes[start..<newline]) != nil {
                if firstBad != nil { sawBadBeforeGood = true }
                lastGoodEnd = newline + 1
            } else if firstBad == nil {
                firstBad = start
            }
            start = newline + 1
        }
        guard firstBad != nil, !sawBadBeforeGood, lastGoodEnd < bytes.count else { return nil }
        guard truncate(path, off_t(lastGoodEnd)) == 0 else { throw .io("cannot truncate \(path): \(String(cString: strerror(errno)))") }
        return Recovery(segment: path, truncatedBytes: bytes.count - lastGoodEnd)
    }

    static func segments(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("segment-") && $0.hasSuffix(".log") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    static func index(of path: String) -> Int {
        Int((path as NSString).lastPathComponent.dropFirst("segment-".count).dropLast(".log".count)) ?? 1
    }

    /// Every valid record of every segment, oldest first; bad records are counted, not returned.
    ///
    /// A record is a line with its LF, as `repairTail` sees it. Bytes after the last LF of the
    /// newest segment are a write in progress, or one torn by a crash that the next `open`
    /// cuts off: neither a record nor damage. In an older segment they are damage.
    public static func readAll(directory: String) throws(DataError) -> (records: [Record], badRecords: Int) {
        var records: [Record] = []
        let bad = try scan(directory: directory) { record, _ in records.append(record) }
        return (records, bad)
    }

    /// Calls `body` with every valid record of every segment and its position, oldest first;
    /// returns the number of bad records (as `readAll`). The next segment is decoded on
    /// another thread while `body` takes the records of the current one, so at most two
    /// segments' records are in memory.
    public static func scan(directory: String, _ body: (Record, Position) throws -> Void) throws(DataError) -> Int {
        let paths = segments(in: directory)
        guard !paths.isEmpty else { return 0 }
        final class Decoded: @unchecked Sendable {  // written by one task, read after its group's wait
            var result: Result<(records: [(Record, Int)], bad: Int), DataError> = .success(([], 0))
        }
        @Sendable func decode(_ index: Int) -> Result<(records: [(Record, Int)], bad: Int), DataError> {
            do throws(DataError) {
                let bytes = try readFileBytes(path: paths[index])
                var records: [(Record, Int)] = []
                var bad = 0, start = 0
                while start < bytes.count {
                    guard let end = bytes[start...].firstIndex(of: 0x0A) else {
                        if index < paths.count - 1 { bad += 1 }
                        break
                    }
                    if let record = Self.decode(bytes[start..<end]) { records.append((record, start)) } else { bad += 1 }
                    start = end + 1
                }
                return .success((records, bad))
            } catch {
                return .failure(error)
            }
        }
        var bad = 0
        var current = decode(0)
        for index in paths.indices {
            let next = Decoded(), group = DispatchGroup()
            if index + 1 < paths.count {
                DispatchQueue.global(qos: .userInitiated).async(group: group) { next.result = decode(index + 1) }
            }
            defer { group.wait() }
            let decoded = try current.get()
            bad += decoded.bad
            let segment = Self.index(of: paths[index])
            for (record, offset) in decoded.records {
                do { try body(record, Position(segment: segment, offset: offset)) } catch { throw .unreadable(path: paths[index], reason: "\(error)") }
            }
            group.wait()
            current = next.result
        }
        return bad
    }
}
