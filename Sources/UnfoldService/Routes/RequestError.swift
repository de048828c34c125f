import UnfoldHTTP

/// A request the service refuses: each case maps to its status and error code here, in one
/// place, and becomes the error envelope `{"error": {"code": …, "message": …}}`.
public enum RequestError: Error, Equatable {
    case badRequest(String)
    case notFound(code: String, String)
    case tooLarge(String)
    case unsupportedMediaType(String)
    case notReady(String)
    case unprocessable(String)
    case conflict(String)
    case unavailable(String)

    var status: HTTPStatus {
        switch self {
        case .badRequest: return .badRequest
        case .notFound: return .notFound
        case .tooLarge: return .payloadTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .notReady, .unavailable: return .serviceUnavailable
        case .unprocessable: return .unprocessableContent
        case .conflict: return .conflict
        }
    }

    var code: String {
        switch self {
        case .badRequest: return "bad_request"
        case .notFound(let code, _): return code
        case .tooLarge: return "payload_too_large"
        case .unsupportedMediaType: return "unsupported_media_type"
        case .notReady: return "not_ready"
        case .unprocessable: return "unprocessable"
        case .conflict: return "conflict"
        case .unavailable: return "unavailable"
        }
    }

    var message: String {
        switch self {
        case .badRequest(let m), .notFound(_, let m), .tooLarge(let m), .unsupportedMediaType(let m), .notReady(let m),
             .unprocessable(let m), .conflict(let m), .unavailable(let m):
            return m
        }
    }
}

extension HTTPResponse {
    init(_ error: RequestError) {
        self = .error(error.status, code: error.code, message: error.message)
    }
}
