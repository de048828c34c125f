#if canImport(UnfoldJSON)
import UnfoldJSON  // absent when the fuzzer compiles these sources as one module
#endif
/// A response built by a handler. The connection adds framing fields
/// (`Content-Length`, `Connection`, `Date`) when it serializes it.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response from already-encoded bytes.
    public static func json(_ status: HTTPStatus = .ok, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: body)
    }

    /// The error model of every Unfold endpoint: `{"error":{"code":...,"message":...}}`.
    public static func error(_ status: HTTPStatus, code: String, message: String) -> HTTPResponse {
        let body = #"{"error":{"code":"# + jsonString(code) + #","message":"# + jsonString(message) + "}}"
        return .json(status, Array(body.utf8))
    }
}
