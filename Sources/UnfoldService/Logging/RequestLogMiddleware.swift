import Dispatch
import Foundation
import Logging
import UnfoldHTTP

/// One log line per request — method, path, status, bytes, duration, peer — handed to the
/// background `LogWriter` as raw fields: the request pays for a clock read and an append,
/// the writer formats. Only when the logger's level lets `info` through.
public struct RequestLogMiddleware: HTTPMiddleware {
    public let enabled: Bool
    let writer: LogWriter

    public init(logger: Logger, writer: LogWriter = .shared) {
        self.enabled = logger.logLevel <= .info
        self.writer = writer
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        guard enabled else { return next(request) }
        let start = DispatchTime.now().uptimeNanoseconds
        let response = next(request)
        let micros = (DispatchTime.now().uptimeNanoseconds - start) / 1000
        writer.request(.init(time: LogWriter.now(), method: request.method, path: request.path, status: response.status.code,
                             bytes: response.body.count, microseconds: micros, peer: request.remoteAddress))
        return response
    }
}
