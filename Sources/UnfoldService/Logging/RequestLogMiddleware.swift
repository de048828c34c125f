import Foundation
import Dispatch
import Logging
import UnfoldHTTP

/// One structured log line per request: method, path, status, bytes, duration.
public struct RequestLogMiddleware: HTTPMiddleware {
    public let logger: Logger
    public let level: Logger.Level

    public init(logger: Logger, level: Logger.Level = .info) {
        self.logger = logger
        self.level = level
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = next(request)
        let micros = (DispatchTime.now().uptimeNanoseconds - start) / 1000
        logger.log(level: level, "request", metadata: [
            "method": .string(request.method),
            "path": .string(request.path),
            "status": .stringConvertible(response.status.code),
            "bytes": .stringConvertible(response.body.count),
            "duration_ms": .string(String(format: "%.3f", Double(micros) / 1000)),
            "peer": .string(request.remoteAddress),
        ])
        return response
    }
}
