import UnfoldData
import Foundation
import UnfoldHTTP

/// Compresses response bodies with gzip when the client accepts it and the body
/// is at least `minimumBytes` long (RFC 9110 §8.4.1, §12.5.3).
public struct GzipMiddleware: HTTPMiddleware {
    public let minimumBytes: Int

    public init(minimumBytes: Int) {
        self.minimumBytes = minimumBytes
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        var response = next(request)
        guard response.body.count >= minimumBytes,
              response.headers["Content-Encoding"] == nil,
              Self.acceptsGzip(request.headers) else {
            return response
        }
        guard let compressed = try? Gzip.compress(response.body), compressed.count < response.body.count else {
            return response
        }
        response.body = compressed
        response.headers.add(name: "Content-Encoding", value: "gzip")
        response.headers.add(name: "Vary", value: "Accept-Encoding")
        return response
    }

    /// gzip is acceptable when named (or `x-gzip`, or `*`) with a non-zero q value.
    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        var gzipQ: Double?
        var starQ: Double?
        for element in headers.tokens("Accept-Encoding") {
            let parts = element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            var q = 1.0
            for parameter in parts.dropFirst() where parameter.hasPrefix("q=") {
                q = Double(parameter.dropFirst(2)) ?? 0
            }
            switch parts.first {
            case "gzip", "x-gzip": gzipQ = q
            case "*": starQ = q
            default: break
            }
        }
        if let gzipQ { return gzipQ > 0 }
        return (starQ ?? 0) > 0
    }
}
