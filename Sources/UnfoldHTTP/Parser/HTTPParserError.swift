/// Why a request could not be parsed; each case carries the status it is answered with.
public enum HTTPParserError: Error, Equatable, Sendable, CustomStringConvertible {
    case badRequest(String)
    case uriTooLong(limit: Int)
    case headerFieldsTooLarge(String)
    case payloadTooLarge(limit: Int)
    case notImplemented(String)
    case versionNotSupported(String)
    case expectationFailed(String)

    public var status: HTTPStatus {
        switch self {
        case .badRequest: return .badRequest
        case .uriTooLong: return .uriTooLong
        case .headerFieldsTooLarge: return .requestHeaderFieldsTooLarge
        case .payloadTooLarge: return .payloadTooLarge
        case .notImplemented: return .notImplemented
        case .versionNotSupported: return .httpVersionNotSupported
        case .expectationFailed: return .expectationFailed
        }
    }

    public var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .uriTooLong: return "uri_too_long"
        case .headerFieldsTooLarge: return "header_fields_too_large"
        case .payloadTooLarge: return "payload_too_large"
        case .notImplemented: return "not_implemented"
        case .versionNotSupported: return "http_version_not_supported"
        case .expectationFailed: return "expectation_failed"
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let why): return why
        case .uriTooLong(let limit): return "request line longer than \(limit) bytes"
        case .headerFieldsTooLarge(let why): return why
        case .payloadTooLarge(let limit): return "request body larger than \(limit) bytes"
        case .notImplemented(let why): return why
        case .versionNotSupported(let version): return "HTTP version \(version) is not supported; use HTTP/1.1 or HTTP/1.0"
        case .expectationFailed(let why): return why
        }
    }
}
