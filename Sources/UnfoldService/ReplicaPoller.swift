import Foundation
import Logging
import UnfoldData
import UnfoldServing
import UnfoldSnapshot

/// Replica mode: follows a snapshot URL. Every poll is a conditional request (ETag /
/// If-Modified-Since); a new snapshot is downloaded to a temporary file in the snapshot
/// directory, verified fully, and renamed to `NAME-VERSION.unfold`, where the model store
/// picks it up like any other. Several servers pointed at one URL serve the same model.
final class ReplicaPoller: @unchecked Sendable {
    let url: String
    let directory: String
    let store: ModelStore
    let logger: Logger
    let interval: Double
    private var etag: String?
    private var lastModified: String?
    private var lastError: String?
    private var timer: DispatchSourceTimer?
    private let queue = DispatchQueue(label: "unfold.replica")

    init(url: String, directory: String, store: ModelStore, logger: Logger, interval: Double) {
        self.url = url
        self.directory = directory
        self.store = store
        self.logger = logger
        self.interval = interval
    }

    func start() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .milliseconds(max(100, Int(interval * 1000))))
        timer.setEventHandler { [weak self] in self?.poll() }
        timer.resume()
        self.timer = timer
        logger.notice("replica mode: following a snapshot URL", metadata: ["url": .string(url)])
    }

    func poll() {
        var options = Fetcher.Options()
        options.retries = 1
        options.totalTimeout = 600
        options.ifNoneMatch = etag
        options.ifModifiedSince = etag == nil ? lastModified : nil
        do {
            let response = try Fetcher.fetch(url, options: options)
            lastError = nil
            if response.notModified { return }
            try publish(response.body)
            etag = response.etag
            lastModified = response.lastModified
        } catch {
            let message = "\(error)"
            if message != lastError {
                logger.warning("replica poll failed", metadata: ["url": .string(url), "error": .string(message)])
                lastError = message
            }
        }
    }

    private func publish(_ bytes: [UInt8]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let temporary = (directory as NSString).appendingPathComponent(".download-\(getpid()).unfold")
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        defer { unlink(temporary) }
        let snapshot: Snapshot
        do {
            snapshot = try Snapshot.open(path: temporary)
        } catch {
            throw ReplicaError(reason: "the downloaded snapshot failed verification: \(error)")
        }
        let final = (directory as NSString).appendingPathComponent(SnapshotWriter.fileName(name: snapshot.metadata.name, version: snapshot.version))
        if FileManager.default.fileExists(atPath: final) { return }
        guard rename(temporary, final) == 0 else { throw ReplicaError(reason: "rename failed: \(String(cString: strerror(errno)))") }
        logger.notice("replica downloaded a snapshot", metadata: ["model": .string(snapshot.metadata.name), "version": .stringConvertible(snapshot.version), "bytes": .stringConvertible(bytes.count)])
        store.refresh()
    }

    struct ReplicaError: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }
}
