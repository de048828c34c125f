import Foundation

/// A parsed JSON document with its types intact (a boolean is never a number).
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    static func parse(_ bytes: [UInt8]) throws(RequestError) -> JSONValue {
        try JSONParser.parse(bytes)
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A request the service refuses, mapped to a status in one place (`response`).
public enum RequestError: Error, Equatable {
    case badRequest(String)
    case notFound(code: String, String)
    case tooLarge(String)
    case unsupportedMediaType(String)
    case notReady(String)
    case unprocessable(String)
    case conflict(String)
    case unavailable(String)

    var response: HTTPResponseShim {
        switch self {
        case .badRequest(let m): return (.badRequest, "bad_request", m)
        case .notFound(let code, let m): return (.notFound, code, m)
        case .tooLarge(let m): return (.payloadTooLarge, "payload_too_large", m)
        case .unsupportedMediaType(let m): return (.unsupportedMediaType, "unsupported_media_type", m)
        case .notReady(let m): return (.serviceUnavailable, "not_ready", m)
        case .unprocessable(let m): return (.unprocessableContent, "unprocessable", m)
        case .conflict(let m): return (.conflict, "conflict", m)
        case .unavailable(let m): return (.serviceUnavailable, "unavailable", m)
        }
    }
}

import UnfoldHTTP
typealias HTTPResponseShim = (status: HTTPStatus, code: String, message: String)

extension HTTPResponse {
    init(_ error: RequestError) {
        let (status, code, message) = error.response
        self = .error(status, code: code, message: message)
    }
}
