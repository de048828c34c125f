import Foundation
import UnfoldSnapshot

/// The models the server answers with, by name. At start it loads, for every model
/// name in the snapshot directory, the newest snapshot that passes every check;
/// a file that fails is reported and skipped.
public final class ModelStore: @unchecked Sendable {
    public enum Event: Sendable {
        case loaded(name: String, version: UInt64, path: String, items: Int, seconds: Double)
        case rejected(path: String, reason: String)
    }

    public let directory: String
    private let lock = NSLock()
    private var models: [String: ServedModel] = [:]
    private let onEvent: @Sendable (Event) -> Void

    public init(directory: String, onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.directory = directory
        self.onEvent = onEvent
    }

    public var count: Int { lock.withLock { models.count } }

    public var names: [String] { lock.withLock { models.keys.sorted() } }

    public func model(named name: String) -> ServedModel? { lock.withLock { models[name] } }

    public var all: [ServedModel] { lock.withLock { Array(models.values) } }

    /// Scans the directory and loads the newest valid snapshot of each name.
    @discardableResult
    public func loadNewest() -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var byName: [String: [(version: UInt64, path: String)]] = [:]
        for file in files {
            guard let (name, version) = Self.parse(fileName: file) else { continue }
            byName[name, default: []].append((version, (directory as NSString).appendingPathComponent(file)))
        }
        var loaded = 0
        for (name, candidates) in byName {
            for candidate in candidates.sorted(by: { $0.version > $1.version }) {
                let start = Date()
                do {
                    let snapshot = try Snapshot.open(path: candidate.path)
                    let model = ServedModel(name: name, snapshot: snapshot)
                    lock.withLock { models[name] = model }
                    onEvent(.loaded(name: name, version: snapshot.version, path: candidate.path, items: snapshot.itemCount, seconds: Date().timeIntervalSince(start)))
                    loaded += 1
                    break
                } catch {
                    onEvent(.rejected(path: candidate.path, reason: "\(error)"))
                }
            }
        }
        return loaded
    }

    /// `NAME-VERSION.unfold` → (NAME, VERSION); temporary and other files → nil.
    public static func parse(fileName: String) -> (String, UInt64)? {
        guard fileName.hasSuffix(".unfold"), !fileName.hasPrefix(".") else { return nil }
        let stem = fileName.dropLast(".unfold".count)
        guard let dash = stem.lastIndex(of: "-"), let version = UInt64(stem[stem.index(after: dash)...]) else { return nil }
        let name = String(stem[..<dash])
        return name.isEmpty ? nil : (name, version)
    }
}
