import Foundation
import UnfoldData

/// A/B tests: each experiment splits traffic between arms (a model name, optionally a pinned
/// version, a weight), sticky per user, and counts outcomes: an ingested event of a user on an
/// item that an arm recommended to that user within `attributionWindow` seconds is a hit for
/// that arm (once per recommendation).
///
/// The definitions are durable (`experiments.json` in the state directory, written to a
/// temporary file, synced and renamed before the answer); the counts live in memory and start
/// again at a restart.
final class Experiments: @unchecked Sendable {  // everything is guarded by `lock`
    static let fileName = "experiments.json"

    struct Arm: Codable, Equatable, Sendable {
        var name: String
        var model: String
        var version: UInt64?
        var weight: Double
    }

    struct Definition: Codable, Equatable, Sendable {
        var name: String
        var arms: [Arm]
        /// Applies to requests that name neither a model nor an experiment.
        var isDefault: Bool
        var createdAt: Double

        enum CodingKeys: String, CodingKey {
            case name, arms
            case isDefault = "default"
            case createdAt = "created_at"
        }

        /// The arm of a user: a point in [0, 1) from a hash of the experiment's name and the
        /// user id (FNV-1a, stable across processes and builds), against the cumulative weights.
        func arm(for user: String?) -> Int {
            var point = Double.random(in: 0..<1)
            if let user {
                var hash: UInt64 = 0xCBF2_9CE4_8422_2325
                for byte in name.utf8 + [0] + user.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
                // Finalize (splitmix64) so nearby ids spread evenly.
                hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
                hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
                hash ^= hash >> 31
                point = Double(hash >> 11) / Double(1 << 53)
            }
            let total = arms.reduce(0) { $0 + $1.weight }
            var cumulative = 0.0
            for (k, arm) in arms.enumerated() {
                cumulative += arm.weight / total
                if point < cumulative { return k }
            }
            return arms.count - 1
        }
    }

    /// An arm's outcome so far.
    struct Counts: Sendable {
        var requests = 0
        var hits = 0
        var users = Set<String>()
    }

    private struct Shown {
        var arm: Int
        var items: Set<String>
        var time: Double
        var hit = false
    }

    let path: String
    let attributionWindow: Double
    private let lock = NSLock()
    private var definitions: [String: Definition] = [:]
    private var counts: [String: [Counts]] = [:]
    /// experiment → user → the latest recommendation the user got from it.
    private var shown: [String: [String: Shown]] = [:]

    init(directory: String, attributionWindow: Double) throws(RequestError) {
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        self.attributionWindow = attributionWindow
        if FileManager.default.fileExists(atPath: path) {
            do {
                let list = try JSONDecoder().decode([Definition].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                for d in list { install(d) }
            } catch {
                throw .unavailable("cannot read \(path): \(error)")
            }
        }
    }

    private func install(_ d: Definition) {
        definitions[d.name] = d
        counts[d.name] = Array(repeating: Counts(), count: d.arms.count)
        shown[d.name] = [:]
    }

    /// Writes every definition, durably (caller holds `lock`).
    private func save() throws(RequestError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = path + ".writing"
        do {
            let data = try encoder.encode(definitions.keys.sorted().map { definitions[$0]! })
            try data.write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw .unavailable("cannot write \(temporary): \(error)")
        }
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        let synced = fd >= 0 && fsync(fd) == 0
        if fd >= 0 { close(fd) }
        guard synced, rename(temporary, path) == 0 else { throw .unavailable("cannot replace \(path): \(String(cString: strerror(errno)))") }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }

    /// Creates or replaces an experiment (its counts start again).
    func put(_ d: Definition) throws(RequestError) {
        lock.lock()
        defer { lock.unlock() }
        let before = definitions
        if d.isDefault {
            for (name, other) in definitions where other.isDefault && name != d.name { definitions[name]!.isDefault = false }
        }
        definitions[d.name] = d
        do { try save() } catch {
            definitions = before
            throw error
        }
        install(d)
    }

    func delete(_ name: String) throws(RequestError) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let removed = definitions.removeValue(forKey: name) else { return false }
        do { try save() } catch {
            definitions[name] = removed
            throw error
        }
        counts[name] = nil
        shown[name] = nil
        return true
    }

    var all: [Definition] { lock.withLock { definitions.keys.sorted().map { definitions[$0]! } } }

    func definition(_ name: String) -> Definition? { lock.withLock { definitions[name] } }

    var defaultExperiment: Definition? { lock.withLock { definitions.values.first { $0.isDefault } } }

    func counts(_ name: String) -> [Counts]? { lock.withLock { counts[name] } }

    /// Records that `arm` of `experiment` answered `user` with `items`.
    func served(_ experiment: String, arm: Int, user: String?, items: [String], now: Double = Date().timeIntervalSince1970) {
        lock.lock()
        defer { lock.unlock() }
        guard counts[experiment] != nil, arm < counts[experiment]!.count else { return }
        counts[experiment]![arm].requests += 1
        guard let user else { return }
        counts[experiment]![arm].users.insert(user)
        shown[experiment]![user] = Shown(arm: arm, items: Set(items), time: now)
    }

    /// Attributes acknowledged events: a user's event on an item their latest recommendation
    /// of an experiment showed, within the window, is one hit for its arm.
    func observe(_ records: [InteractionLog.Record], now: Double = Date().timeIntervalSince1970) {
        lock.lock()
        defer { lock.unlock() }
        guard !shown.isEmpty else { return }
        for record in records {
            for name in shown.keys {
                guard var s = shown[name]![record.user], !s.hit, now - s.time <= attributionWindow, record.weight >= 0, s.items.contains(record.item) else { continue }
                s.hit = true
                shown[name]![record.user] = s
                counts[name]![s.arm].hits += 1
            }
        }
    }

    /// The Wilson score interval of a proportion at 95% (sound at small counts and at 0 or 1).
    static func wilson(_ hits: Int, _ n: Int) -> (low: Double, high: Double) {
        guard n > 0 else { return (0, 1) }
        let z = 1.959964, p = Double(hits) / Double(n), nn = Double(n)
        let center = (p + z * z / (2 * nn)) / (1 + z * z / nn)
        let half = z * ((p * (1 - p) / nn + z * z / (4 * nn * nn)).squareRoot()) / (1 + z * z / nn)
        return (max(0, center - half), min(1, center + half))
    }
}
