import UnfoldHTTP

/// The settings of `unfold serve`: `Config/unfold.json`, then `UNFOLD_*` environment
/// variables, then flags, each later source overriding the earlier.
public struct ServiceConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var eventLoop = EventBackend.dispatch.rawValue
    public var workerThreads = 0
    public var maxConnections = 1024
    public var maxRequestLineBytes = 8192
    public var maxHeaderBytes = 16384
    public var maxHeaderCount = 100
    public var maxBodyBytes = 10 << 20
    public var headerTimeoutSeconds = 10.0
    public var bodyTimeoutSeconds = 30.0
    public var idleTimeoutSeconds = 60.0
    public var writeTimeoutSeconds = 30.0
    public var shutdownGraceSeconds = 10.0
    public var gzipMinBytes = 1024
    public var logLevel = "info"
    public var logFormat = "logfmt"
    public var adminToken = ""
    public var apiToken = ""
    public var userHistoryMax = 500
    public var attributionWindowSeconds = 3600.0
    public var experiments = ""
    public var newItemMinUsers = 5
    public var eventTypes: [String: Float] = ["view": 1, "click": 2, "purchase": 5, "dislike": -1]
    public var metricsPublic = false
    public var metrics = "on"
    public var snapshots = "snapshots"
    public var defaultModel = "wals"
    public var snapshotPollSeconds = 2.0
    public var retainVersions = 5
    public var promotionTolerance = 0.01
    public var jobs = "jobs"
    public var trainData = "data/current/train.tsv"
    public var trainTest = ""
    public var trainItems = ""
    public var jobTimeLimitSeconds = 3600.0
    public var annMinItems = 100_000
    public var sparkSubmit = "spark-submit"
    public var sparkMaster = "local[2]"
    public var sparkArguments = ""
    public var sparkJob = "spark/unfold_als.py"
    public var sparkExchange = ""
    public var retrainEveryMinutes = 0.0
    public var retrainAfterInteractions = 0
    public var interactionLog = "data/log"
    public var snapshotURL = ""
    public var logSegmentBytes = 64 << 20

    public init() {}

    /// The HTTP server's view of these settings.
    public var httpServer: HTTPServerConfiguration {
        HTTPServerConfiguration(
            host: host,
            port: UInt16(port),
            eventBackend: EventBackend(rawValue: eventLoop) ?? .dispatch,
            workerThreads: workerThreads,
            maxConnections: maxConnections,
            connection: HTTPConnectionConfiguration(
                parserLimits: HTTPParserLimits(
                    maxRequestLineBytes: maxRequestLineBytes,
                    maxHeaderBytes: maxHeaderBytes,
                    maxHeaderCount: maxHeaderCount,
                    maxBodyBytes: maxBodyBytes
                ),
                headerTimeout: Self.nanoseconds(headerTimeoutSeconds),
                bodyTimeout: Self.nanoseconds(bodyTimeoutSeconds),
                idleTimeout: Self.nanoseconds(idleTimeoutSeconds),
                writeTimeout: Self.nanoseconds(writeTimeoutSeconds)
            )
        )
    }

    public var shutdownGraceNanoseconds: UInt64 { Self.nanoseconds(shutdownGraceSeconds) }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(seconds * 1e9) }
}
