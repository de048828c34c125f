import Foundation
import Logging

/// swift-log's records, through the background `LogWriter`: one line per record, logfmt
/// (`ts=… level=info msg=… key=value`) or JSON, as the writer is set.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let writer: LogWriter

    public init(label: String, level: Logger.Level, writer: LogWriter = .shared) {
        self.label = label
        self.logLevel = level
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        writer.line(level: "\(event.level)", message: "\(event.message)", fields: merged.keys.sorted().map { ($0, "\(merged[$0]!)") })
    }
}
