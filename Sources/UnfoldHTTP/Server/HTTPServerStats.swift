import UnfoldMetrics

/// What the connection layer counts, lock-free: connections accepted and refused at the
/// limit, bytes read and written, requests refused by the parser (by kind), deadlines that
/// expired (by which), requests turned away because every worker was busy, and the open
/// connections.
public final class HTTPServerStats: Sendable {
    /// Every `HTTPParserError.code`, in a fixed order.
    public static let protocolErrorKinds = ["bad_request", "uri_too_long", "header_fields_too_large", "payload_too_large",
                                            "not_implemented", "http_version_not_supported", "expectation_failed"]
    public static let deadlines = [HTTPConnectionReport.Deadline.header, .body, .idle, .write]

    public let open = Gauge()
    public let accepted = Counter()
    public let refused = Counter()
    public let bytesRead = Counter()
    public let bytesWritten = Counter()
    public let overloaded = Counter()
    public let acceptFailures = Counter()
    private let protocolErrors: [Counter] = protocolErrorKinds.map { _ in Counter() }
    private let timeouts: [Counter] = deadlines.map { _ in Counter() }

    public init() {}

    func count(_ report: HTTPConnectionReport) {
        switch report {
        case .protocolError(let error):
            if let index = Self.protocolErrorKinds.firstIndex(of: error.code) { protocolErrors[index].increment() }
        case .timeout(let deadline):
            if let index = Self.deadlines.firstIndex(of: deadline) { timeouts[index].increment() }
        }
    }

    /// (kind, count) for every protocol error kind.
    public var protocolErrorCounts: [(kind: String, count: UInt64)] {
        zip(Self.protocolErrorKinds, protocolErrors).map { ($0, $1.count) }
    }

    /// (deadline, count) for every deadline.
    public var timeoutCounts: [(deadline: String, count: UInt64)] {
        zip(Self.deadlines, timeouts).map { ($0.rawValue, $1.count) }
    }
}
