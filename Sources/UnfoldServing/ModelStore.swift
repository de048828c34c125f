import Dispatch
import Foundation
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot

/// The models the server answers with, by name, and every snapshot version it knows.
///
/// `refresh()` scans the snapshot directory. A file not seen before is verified fully (every
/// check of `Snapshot.open`, then a smoke query through the recommender) and, if it is newer
/// than the active version of its name and passes the promotion gate, swapped in atomically.
/// A request holds a reference to the `ServedModel` it started with, so it finishes on that
/// model; the old mapping is released when the last such request ends. `startWatching`
/// refreshes on directory events (a Dispatch file-system source) with a periodic poll as
/// the fallback.
public final class ModelStore: @unchecked Sendable {
    public enum Event: Sendable {
        case loaded(name: String, version: UInt64, path: String, items: Int, seconds: Double)
        case swapped(name: String, from: UInt64?, to: UInt64)
        case rejected(path: String, reason: String)
        case heldBack(name: String, version: UInt64, reason: String)
        case removed(path: String)
        /// Retention could not delete a file (it stays known and is tried again).
        case removalFailed(path: String, reason: String)
        /// Directory events cannot be watched: the store polls only.
        case watchUnavailable(reason: String)
    }

    public enum State: String, Sendable { case active, available, heldBack = "held_back", rejected }

    /// What the store knows about one snapshot file.
    public struct VersionInfo: Sendable {
        public var name: String
        public var version: UInt64
        public var path: String
        public var state: State
        public var reason: String?
        public var evaluation: [String: Double]
        public var createdAt: String?
        /// Everything the file says of itself (recipe, epochs, spectrum); nil when it failed a check.
        public var metadata: ModelMetadata?
    }

    public enum ActivationError: Error, Equatable {
        case unknownModel(String)
        case unknownVersion(String, UInt64)
        case invalid(String)
    }

    public struct Policy: Sendable {
        /// A new version whose held-out NDCG@10 is below the active one's by more than this is not activated.
        public var promotionTolerance: Double = 0.01
        /// Snapshot files kept per model name (the active one always is).
        public var retainVersions: Int = 5
        /// Whether served models count their answers (`ServingStats`); off only to measure
        /// what counting costs.
        public var countServing: Bool = true
        /// Catalogues from this many items on are served by their approximate index, if they have one.
        public var annMinItems: Int = ServedModel.defaultANNMinItems
        public init(promotionTolerance: Double = 0.01, retainVersions: Int = 5, countServing: Bool = true, annMinItems: Int = ServedModel.defaultANNMinItems) {
            self.promotionTolerance = promotionTolerance
            self.retainVersions = retainVersions
            self.countServing = countServing
            self.annMinItems = annMinItems
        }
    }

    public let directory: String
    public let policy: Policy
    private let lock = NSLock()
    private var active: [String: ServedModel] = [:]
    private var known: [String: VersionInfo] = [:]
    /// Per model name, the serving counts every version of it shares.
    private var statsByName: [String: ServingStats] = [:]
    private let queue = DispatchQueue(label: "unfold.model-store")
    /// Versions served beside the active ones ("name@version"), under `lock`.
    private var pinned: [String: ServedModel] = [:]
    private var watchSource: DispatchSourceProtocol?
    private var pollTimer: DispatchSourceTimer?
    private let onEvent: @Sendable (Event) -> Void

    /// `onEvent` hears of every load, swap, rejection, hold-back and removal, on the store's queue.
    public init(directory: String, policy: Policy = Policy(), onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.directory = directory
        self.policy = policy
        self.onEvent = onEvent
    }

    public var count: Int { lock.withLock { active.count } }

    public var names: [String] { lock.withLock { active.keys.sorted() } }

    /// The active model of a name: hold the reference for the whole request.
    public func model(named name: String) -> ServedModel? { lock.withLock { active[name] } }

    public var all: [ServedModel] { lock.withLock { Array(active.values) } }

    /// Every known version of every model name, newest first.
    public var versions: [String: [VersionInfo]] {
        lock.withLock { Dictionary(grouping: known.values, by: \.name).mapValues { $0.sorted { $0.version > $1.version } } }
    }

    /// Loads what the directory holds now; returns the number of active models.
    @discardableResult
    public func loadNewest() -> Int {
        queue.sync { refreshLocked() }
        return count
    }

    /// Rescans the directory (on the store's queue).
    public func refresh() {
        queue.async { self.refreshLocked() }
    }

    /// Watches the directory for new files, and polls every `pollInterval` seconds as a fallback.
    public func startWatching(pollInterval: Double) {
        queue.async { [self] in
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            watchSource = watchDirectory()
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(max(50, Int(pollInterval * 1000)))
            timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
            timer.setEventHandler { [weak self] in self?.refreshLocked() }
            timer.resume()
            pollTimer = timer
        }
    }

    /// Directory events as a Dispatch source: on Linux inotify read through a read source
    /// (a finished rename — how trainers publish — or a closed write triggers a rescan);
    /// elsewhere a vnode source on the directory. Nil (the poll alone) when it cannot be set up.
    private func watchDirectory() -> DispatchSourceProtocol? {
        #if os(Linux)
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else {
            onEvent(.watchUnavailable(reason: "inotify_init1: \(String(cString: strerror(errno)))"))
            return nil
        }
        guard inotify_add_watch(fd, directory, UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM)) >= 0 else {
            onEvent(.watchUnavailable(reason: "inotify_add_watch(\(directory)): \(String(cString: strerror(errno)))"))
            close(fd)
            return nil
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [weak self] in
            // Drain the events; their details do not matter, the rescan looks at the directory.
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(fd, &buffer, buffer.count) > 0 {}
            self?.refreshLocked()
        }
        source.setCancelHandler { close(fd) }
        #else
        let fd = open(directory, O_EVTONLY)
        guard fd >= 0 else {
            onEvent(.watchUnavailable(reason: "open(\(directory)): \(String(cString: strerror(errno)))"))
            return nil
        }
        let source = DispatchSource.makeFileSystemObjectSource(fileDescriptor: fd, eventMask: [.write, .rename, .delete], queue: queue)
        source.setEventHandler { [weak self] in self?.refreshLocked() }
        source.setCancelHandler { close(fd) }
        #endif
        source.resume()
        return source
    }

    public func stopWatching() {
        queue.sync {
            watchSource?.cancel()
            pollTimer?.cancel()
            watchSource = nil
            pollTimer = nil
        }
    }

    /// A version of `name` to serve beside the active one (an experiment's pinned arm): the
    /// active model when it is that version, else the version's file loaded and verified once
    /// and kept. Nil when no valid file of that version is known.
    public func model(named name: String, version: UInt64) -> ServedModel? {
        if let current = model(named: name), current.version == version { return current }
        let key = "\(name)@\(version)"
        if let kept = lock.withLock({ pinned[key] }) { return kept }
        return queue.sync { () -> ServedModel? in
            if let kept = lock.withLock({ pinned[key] }) { return kept }
            refreshLocked()
            guard let info = lock.withLock({ known.values.first { $0.name == name && $0.version == version && $0.state != .rejected } }),
                  case .success(let model) = load(info.path, name: name) else { return nil }
            lock.withLock { pinned[key] = model }
            return model
        }
    }

    /// Makes `version` the active one of `name` (a rollback or roll-forward), verifying it again.
    @discardableResult
    public func activate(name: String, version: UInt64) throws(ActivationError) -> ServedModel {
        let result: Result<ServedModel, ActivationError> = queue.sync {
            refreshLocked()
            let candidates = lock.withLock { known.values.filter { $0.name == name } }
            if candidates.isEmpty { return .failure(.unknownModel(name)) }
            guard let info = candidates.first(where: { $0.version == version }) else { return .failure(.unknownVersion(name, version)) }
            switch load(info.path, name: name) {
            case .failure(let failure):
                lock.withLock { known[info.path]?.state = .rejected; known[info.path]?.reason = failure.reason }
                return .failure(.invalid(failure.reason))
            case .success(let model):
                install(model, path: info.path)
                return .success(model)
            }
        }
        return try result.get()
    }

    // MARK: - Internals (on `queue`)

    private func refreshLocked() {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var present = Set<String>()
        var fresh: [(name: String, version: UInt64, path: String)] = []
        for file in files {
            guard let (name, version) = SnapshotWriter.parse(fileName: file) else { continue }
            let path = (directory as NSString).appendingPathComponent(file)
            present.insert(path)
            if lock.withLock({ known[path] }) == nil { fresh.append((name, version, path)) }
        }
        // Files that disappeared: forget them (an active model keeps its mapping).
        let gone = lock.withLock { known.keys.filter { !present.contains($0) && known[$0]?.state != .active } }
        for path in gone {
            lock.withLock { _ = known.removeValue(forKey: path) }
        }
        for candidate in fresh.sorted(by: { ($0.name, $0.version) < ($1.name, $1.version) }) {
            consider(candidate.path, name: candidate.name, version: candidate.version)
        }
        applyRetention()
    }

    private func consider(_ path: String, name: String, version: UInt64) {
        let start = Date()
        switch load(path, name: name) {
        case .failure(let failure):
            lock.withLock { known[path] = VersionInfo(name: name, version: version, path: path, state: .rejected, reason: failure.reason, evaluation: [:], createdAt: nil, metadata: nil) }
            onEvent(.rejected(path: path, reason: failure.reason))
        case .success(let model):
            onEvent(.loaded(name: name, version: model.version, path: path, items: model.itemCount, seconds: Date().timeIntervalSince(start)))
            let current = lock.withLock { active[name] }
            var info = VersionInfo(name: name, version: model.version, path: path, state: .available, reason: nil,
                                   evaluation: model.metadata.evaluation, createdAt: model.metadata.createdAt, metadata: model.metadata)
            if let current, current.version >= model.version {
                info.reason = "older than the active version \(current.version)"
                lock.withLock { known[path] = info }
                return
            }
            if let current, let reason = gate(new: model, active: current) {
                info.state = State.heldBack
                info.reason = reason
                lock.withLock { known[path] = info }
                onEvent(.heldBack(name: name, version: model.version, reason: reason))
                return
            }
            lock.withLock { known[path] = info }
            install(model, path: path)
        }
    }

    /// The promotion gate: nil when the new version may replace the active one.
    private func gate(new: ServedModel, active: ServedModel) -> String? {
        guard let activeScore = active.metadata.evaluation["ndcg@10"] else { return nil }
        guard let newScore = new.metadata.evaluation["ndcg@10"] else {
            return String(format: "it has no held-out evaluation and the active version has one (ndcg@10 %.4f); retrain with test data or a holdout, or with force to serve it anyway", activeScore)
        }
        if newScore < activeScore - policy.promotionTolerance {
            return String(format: "held-out ndcg@10 %.4f is below the active version's %.4f by more than the tolerance %.4f; activate it explicitly to serve it", newScore, activeScore, policy.promotionTolerance)
        }
        return nil
    }

    private func install(_ model: ServedModel, path: String) {
        let previous: ServedModel? = lock.withLock {
            let old = active[model.name]
            active[model.name] = model
            for (p, info) in known where info.name == model.name && info.state == .active { known[p]?.state = .available }
            known[path]?.state = .active
            known[path]?.reason = nil
            return old
        }
        onEvent(.swapped(name: model.name, from: previous?.version, to: model.version))
    }

    /// Keeps the newest `retainVersions` files per name (and always the active one).
    private func applyRetention() {
        guard policy.retainVersions > 0 else { return }
        let doomed: [String] = lock.withLock {
            Dictionary(grouping: known.values, by: \.name).values.flatMap { infos in
                infos.sorted { $0.version > $1.version }.dropFirst(policy.retainVersions).filter { $0.state != .active }.map(\.path)
            }
        }
        for path in doomed {
            if unlink(path) == 0 {
                lock.withLock { _ = known.removeValue(forKey: path) }
                onEvent(.removed(path: path))
            } else {
                onEvent(.removalFailed(path: path, reason: String(cString: strerror(errno))))
            }
        }
    }

    /// Opens, verifies and smoke-tests a snapshot.
    private struct LoadFailure: Error { let reason: String }

    private func load(_ path: String, name: String) -> Result<ServedModel, LoadFailure> {
        do {
            let snapshot = try Snapshot.open(path: path)
            let stats = lock.withLock { () -> ServingStats in
                if let existing = statsByName[name] { return existing }
                let fresh = ServingStats(enabled: policy.countServing)
                statsByName[name] = fresh
                return fresh
            }
            let model = ServedModel(name: name, model: snapshot.model, stats: stats, annMinItems: policy.annMinItems)
            if let reason = Self.smokeTest(model) { return .failure(LoadFailure(reason: "check smoke-query failed: \(reason)")) }
            return .success(model)
        } catch {
            return .failure(LoadFailure(reason: "\(error)"))
        }
    }

    /// One real query through the serving path: the most popular item in, finite scores out.
    static func smokeTest(_ model: ServedModel) -> String? {
        guard model.itemCount > 0 else { return "the model has no items" }
        let probe = model.id(Int(model.popularityOrder[0]))
        let result: Recommendation
        do {
            result = try Recommender.recommend(RecommendQuery(k: min(10, model.itemCount), excludeSeen: false), posted: model.resolve([(item: probe, weight: Float(1))]), with: model)
        } catch {
            return "\(error)"
        }
        if result.items.isEmpty { return "no items returned" }
        if result.items.contains(where: { !$0.score.isFinite }) { return "non-finite score" }
        return nil
    }
}
