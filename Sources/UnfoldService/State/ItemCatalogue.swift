import Foundation
import UnfoldData
import UnfoldServing

/// The item catalogue: titles, categories, hidden and expiring items, free-form properties,
/// changed through `/v1/items/{id}` without a retrain and applied at once to every model.
///
/// Durable like the interaction log: each write appends one line to `catalogue.log` in the
/// state directory (the interaction log's), `CRC32-hex8 TAB {"id":…,"entry":{…}} LF`, the
/// entry as it is after the write, and syncs it before the answer. At start the lines are
/// replayed (the last line of an id wins; a torn last line is cut off); once the journal
/// holds more than twice as many lines as entries (and 1,000 more), it is rewritten with one
/// line per entry (a temporary file, synced, renamed over it, the directory synced).
/// An item with no entry keeps what the model's items file gave it.
final class ItemCatalogue: @unchecked Sendable {  // `entries`, the file and the views are guarded by `lock`
    static let fileName = "catalogue.log"

    let path: String
    private let lock = NSLock()
    private var entries: [String: ItemEntry] = [:]
    private var lines = 0
    private var fd: Int32 = -1
    /// Bumped by every write: a model's view is rebuilt when it changed.
    private var generation = 0
    private var views: [UserHistories.ModelKey: View] = [:]

    /// What a served model must leave out and how it files items by category, at one
    /// generation of the catalogue, valid until the next expiry among its items.
    struct View: Sendable {
        var generation: Int
        var validUntil: Double
        /// Rows hidden, deleted or expired, ascending.
        var hiddenRows: [Int32]
        /// Category → rows, with the catalogue's categories replacing the items file's for the
        /// items that have them; nil when no entry of this model's items has categories.
        var categoryMembers: [String: Set<Int32>]?
    }

    init(directory: String) throws(RequestError) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        let good = replay()
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > good {
            guard truncate(path, off_t(good)) == 0 else { throw .unavailable("cannot truncate \(path): \(String(cString: strerror(errno)))") }
        }
        try openJournal()
        if lines > 2 * entries.count + 1000 { try compact() }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    private func openJournal() throws(RequestError) {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unavailable("cannot open \(path): \(String(cString: strerror(errno)))") }
    }

    /// Reads the journal into `entries`; returns the bytes of whole, valid lines.
    private func replay() -> Int {
        guard let bytes = try? readFileBytes(path: path) else { return 0 }
        var start = 0, good = 0
        while start < bytes.count, let end = bytes[start...].firstIndex(of: 0x0A) {
            guard let (id, entry) = Self.decode(bytes[start..<end]) else { break }
            entries[id] = entry
            lines += 1
            start = end + 1
            good = start
        }
        return good
    }

    static func encode(_ id: String, _ entry: ItemEntry) -> [UInt8] {
        ChecksummedLine.encode(JSONValue.object(["id": .string(id), "entry": .object(entry.json)]).text)
    }

    static func decode(_ line: ArraySlice<UInt8>) -> (String, ItemEntry)? {
        guard let body = ChecksummedLine.body(line), case .object(let object)? = try? JSONValue.parse(Array(body)),
              case .string(let id)? = object["id"], case .object(let fields)? = object["entry"], let entry = ItemEntry(json: fields) else { return nil }
        return (id, entry)
    }

    private func write(_ bytes: [UInt8]) throws(RequestError) {
        if let failure = appendDurably(bytes, to: fd) { throw .unavailable("the catalogue cannot be written: \(failure)") }
    }

    /// Rewrites the journal with one line per entry (caller holds `lock`, or `init`).
    private func compact() throws(RequestError) {
        let temporary = path + ".compacting"
        var bytes: [UInt8] = []
        for id in entries.keys.sorted() { bytes += Self.encode(id, entries[id]!) }
        guard FileManager.default.createFile(atPath: temporary, contents: nil) else { throw .unavailable("cannot create \(temporary)") }
        let out = open(temporary, O_WRONLY | O_TRUNC | O_CLOEXEC)
        guard out >= 0 else { throw .unavailable("cannot open \(temporary)") }
        let written = bytes.withUnsafeBytes { Glibc.write(out, $0.baseAddress, $0.count) }
        let synced = fsync(out)
        close(out)
        guard written == bytes.count, synced == 0, rename(temporary, path) == 0 else { throw .unavailable("cannot rewrite \(path): \(String(cString: strerror(errno)))") }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
        if fd >= 0 { close(fd) }
        try openJournal()
        lines = entries.count
    }

    /// Changes an entry and returns it once the change is on disk. `change` gets the current
    /// entry (a new one for an unknown id) and may refuse.
    func update(_ id: String, _ change: (inout ItemEntry) throws(RequestError) -> Void) throws(RequestError) -> ItemEntry {
        lock.lock()
        defer { lock.unlock() }
        var entry = entries[id] ?? ItemEntry()
        if entry.deleted { throw .conflict("item '\(id)' was deleted; a deleted item stays hidden") }
        try change(&entry)
        entry.updatedAt = Date().timeIntervalSince1970
        try write(Self.encode(id, entry))
        entries[id] = entry
        lines += 1
        generation += 1
        if lines > 2 * entries.count + 1000 { try compact() }
        return entry
    }

    func entry(_ id: String) -> ItemEntry? {
        lock.withLock { entries[id] }
    }

    var count: Int { lock.withLock { entries.count } }

    /// What `served` must leave out now, or nil when the catalogue is empty.
    func view(for served: ServedModel, now: Double = Date().timeIntervalSince1970) -> View? {
        lock.lock()
        defer { lock.unlock() }
        if entries.isEmpty { return nil }
        let key = UserHistories.ModelKey(object: ObjectIdentifier(served), version: served.version)
        if let view = views[key], view.generation == generation, now < view.validUntil { return view }
        var hidden: [Int32] = [], validUntil = Double.infinity
        var moved: [(row: Int32, categories: [String])] = []
        for (id, entry) in entries {
            guard let row = served.index(of: id) else { continue }
            if entry.isHidden(at: now) {
                hidden.append(Int32(row))
            } else if let expiry = entry.expiresAt {
                validUntil = min(validUntil, expiry)
            }
            if let categories = entry.categories { moved.append((Int32(row), categories)) }
        }
        hidden.sort()
        var members: [String: Set<Int32>]?
        if !moved.isEmpty {
            var m = served.categoryMembers
            for (row, categories) in moved {
                for c in served.model.attributes[served.id(Int(row))]?.categories ?? [] { m[c]?.remove(row) }
                for c in categories { m[c, default: []].insert(row) }
            }
            members = m
        }
        let view = View(generation: generation, validUntil: validUntil, hiddenRows: hidden, categoryMembers: members)
        if views.count > 8 { views.removeAll() }
        views[key] = view
        return view
    }
}
