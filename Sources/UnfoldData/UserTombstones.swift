import CZlib
import Foundation

/// Erased users, durable: one line per erasure in a file beside the interaction log,
///
///     CRC32-hex8 TAB user TAB segment TAB offset TAB erased-at LF
///
/// (the CRC covers everything after the first tab). `segment`/`offset` is the interaction
/// log's end when the erasure was acknowledged: the user's records before it leave every
/// later training run and the history rebuilt at start; records the user sends afterwards
/// are new data. Base training files have no positions, so an erased user's records leave
/// them entirely. A line is acknowledged only after `fdatasync`; a torn last line (a crash
/// mid-write) is ignored when read and cut off when the file is next opened for writing.
public final class UserTombstones: @unchecked Sendable {  // `erased` and the file are guarded by `lock`
    public static let fileName = "erased-users.log"

    public let path: String
    private let lock = NSLock()
    private var erased: [String: InteractionLog.Position]
    private var fd: Int32 = -1

    /// Opens (creating) the file in `directory` and reads what it holds.
    public init(directory: String) throws(InteractionLog.LogError) {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        let (erased, goodBytes) = Self.read(path)
        self.erased = erased
        if FileManager.default.fileExists(atPath: path), let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int), size > goodBytes {
            guard truncate(path, off_t(goodBytes)) == 0 else { throw .io("cannot truncate \(path): \(String(cString: strerror(errno)))") }
        }
        fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// The erased users and where the log stood at each one's (latest) erasure.
    public var all: [String: InteractionLog.Position] {
        lock.lock()
        defer { lock.unlock() }
        return erased
    }

    /// Records an erasure and returns once it is on disk.
    public func erase(_ user: String, at position: InteractionLog.Position, time: Double = Date().timeIntervalSince1970) throws(InteractionLog.LogError) {
        let line = ChecksummedLine.encode(Array("\(user)\t\(position.segment)\t\(position.offset)\t\(Int64(time))".utf8))
        lock.lock()
        defer { lock.unlock() }
        if let failure = appendDurably(line, to: fd) { throw .io("\(path): \(failure)") }
        erased[user] = position
    }

    /// The erasures a file holds (a missing file holds none), and how many of its bytes are
    /// whole, valid lines.
    public static func read(_ path: String) -> (erased: [String: InteractionLog.Position], goodBytes: Int) {
        guard let bytes = try? readFileBytes(path: path) else { return ([:], 0) }
        var erased: [String: InteractionLog.Position] = [:]
        var start = 0, good = 0
        while start < bytes.count, let end = bytes[start...].firstIndex(of: 0x0A) {
            guard let body = ChecksummedLine.body(bytes[start..<end]) else { break }
            let fields = body.split(separator: 0x09, omittingEmptySubsequences: false)
            guard fields.count == 4, let user = String(validating: fields[0], as: UTF8.self), !user.isEmpty,
                  let segment = Int(String(decoding: fields[1], as: UTF8.self)),
                  let offset = Int(String(decoding: fields[2], as: UTF8.self)) else { break }
            let position = InteractionLog.Position(segment: segment, offset: offset)
            erased[user] = max(erased[user] ?? position, position)
            start = end + 1
            good = start
        }
        return (erased, good)
    }

    /// The erasures of the file in an interaction log directory.
    public static func read(logDirectory: String) -> [String: InteractionLog.Position] {
        read((logDirectory as NSString).appendingPathComponent(fileName)).erased
    }
}
