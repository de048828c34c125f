import Dispatch
import UnfoldHTTP
import UnfoldMetrics

/// Counts every request by route template (not raw path), method and status class, times it
/// into a histogram per route, and keeps the in-flight gauge. The table of routes is built
/// once, after the routes are registered and before the server starts (`freeze`), and only
/// read afterwards: a request does two dictionary lookups and relaxed atomic adds, no lock.
/// Requests no route matched (404, 405, 501) share one `route="unmatched"` row, so a scan of
/// random paths cannot grow the table (`method="any"`).
public final class HTTPMetricsMiddleware: HTTPMiddleware, @unchecked Sendable {  // `table` is written only before serving
    public static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    final class Row: Sendable {
        let method: String
        let route: String
        let byClass: [Counter] = HTTPMetricsMiddleware.statusClasses.map { _ in Counter() }
        let seconds = Histogram.seconds()
        init(method: String, route: String) { self.method = method; self.route = route }
    }

    public let inFlight = Gauge()
    private var table: [String: [String: Row]] = [:]
    private let unmatched = Row(method: "any", route: "unmatched")

    public init() {}

    /// Builds the table from the router's routes (HEAD rows for GET routes, which HEAD also
    /// answers). Call once, before the server accepts connections.
    public func freeze(routes: [(method: String, path: String)]) {
        for (method, path) in routes {
            table[path, default: [:]][method] = Row(method: method, route: path)
            if method == "GET" { table[path, default: [:]]["HEAD"] = Row(method: "HEAD", route: path) }
        }
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        inFlight.add(1)
        let response = next(request)
        inFlight.add(-1)
        let row = request.route.flatMap { table[$0]?[request.method] } ?? unmatched
        let statusClass = min(max(response.status.code / 100, 1), 5) - 1
        row.byClass[statusClass].increment()
        row.seconds.observe(units: DispatchTime.now().uptimeNanoseconds - start)
        return response
    }

    /// `unfold_http_requests_total`, `unfold_http_request_duration_seconds` and
    /// `unfold_http_requests_in_flight`. Rows that never saw a request are left out.
    public func render(_ e: inout Exposition) {
        let rows = (table.values.flatMap { $0.values } + [unmatched])
            .filter { $0.seconds.snapshot().count > 0 }
            .sorted { ($0.route, $0.method) < ($1.route, $1.method) }
        e.family("unfold_http_requests_total", "counter", "HTTP requests answered, by route template, method and status class.")
        for row in rows {
            for (index, statusClass) in Self.statusClasses.enumerated() where row.byClass[index].count > 0 {
                e.sample("unfold_http_requests_total", labels(row) + [("status", statusClass)], row.byClass[index].count)
            }
        }
        e.family("unfold_http_request_duration_seconds", "histogram", "Time from a parsed request to its response, by route template and method.")
        for row in rows { e.histogram("unfold_http_request_duration_seconds", labels(row), row.seconds) }
        e.family("unfold_http_requests_in_flight", "gauge", "Requests being answered now.")
        e.sample("unfold_http_requests_in_flight", [], Double(inFlight.current))
    }

    /// The connection layer's families (`HTTPServerStats`).
    public static func render(_ stats: HTTPServerStats, _ e: inout Exposition) {
        e.family("unfold_http_open_connections", "gauge", "Connections open now.")
        e.sample("unfold_http_open_connections", [], Double(stats.open.current))
        e.family("unfold_http_connections_total", "counter", "Connections accepted (admitted) and refused at max_connections (answered 503 and closed).")
        e.sample("unfold_http_connections_total", [("outcome", "accepted")], stats.accepted.count)
        e.sample("unfold_http_connections_total", [("outcome", "refused")], stats.refused.count)
        e.family("unfold_http_received_bytes_total", "counter", "Bytes read from clients.")
        e.sample("unfold_http_received_bytes_total", [], stats.bytesRead.count)
        e.family("unfold_http_sent_bytes_total", "counter", "Bytes written to clients.")
        e.sample("unfold_http_sent_bytes_total", [], stats.bytesWritten.count)
        e.family("unfold_http_protocol_errors_total", "counter", "Requests the parser refused, by kind (the error code they were answered with).")
        for (kind, count) in stats.protocolErrorCounts { e.sample("unfold_http_protocol_errors_total", [("kind", kind)], count) }
        e.family("unfold_http_timeouts_total", "counter", "Connections closed by an expired deadline, by deadline.")
        for (deadline, count) in stats.timeoutCounts { e.sample("unfold_http_timeouts_total", [("deadline", deadline)], count) }
        e.family("unfold_http_overloaded_total", "counter", "Requests answered 503 because every worker was busy and the queue full.")
        e.sample("unfold_http_overloaded_total", [], stats.overloaded.count)
        e.family("unfold_http_accept_failures_total", "counter", "accept() calls that failed (for instance out of descriptors).")
        e.sample("unfold_http_accept_failures_total", [], stats.acceptFailures.count)
    }

    private func labels(_ row: Row) -> [(String, String)] {
        [("route", row.route), ("method", row.method)]
    }
}
