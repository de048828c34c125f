import Foundation
import UnfoldHTTP

/// Guards `/admin` and the `/v1` writes that change what other users are shown
/// (`adminWrites`, as "METHOD /route/{template}"): with a token configured,
/// `Authorization: Bearer <token>` is required (compared in constant time); without one, only
/// loopback clients are answered. `/metrics` answers loopback clients freely and others as
/// `/admin` (or everyone with `metricsPublic`). With an `apiToken`, every other `/v1` route
/// needs it (or the admin token).
public struct AdminAuthMiddleware: HTTPMiddleware {
    public let token: String
    public let metricsPublic: Bool
    public let apiToken: String
    public let adminWrites: Set<String>

    public init(token: String, metricsPublic: Bool = false, apiToken: String = "", adminWrites: Set<String> = []) {
        self.token = token
        self.metricsPublic = metricsPublic
        self.apiToken = apiToken
        self.adminWrites = adminWrites
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        if request.path == "/metrics" {
            if metricsPublic || request.isFromLoopback { return next(request) }
        } else if request.path.hasPrefix("/v1/") {
            if let route = request.route, !adminWrites.isEmpty, adminWrites.contains(request.method + " " + route) {
                return admin(request, next: next)
            }
            return api(request, next: next)
        } else if !(request.path == "/admin" || request.path.hasPrefix("/admin/")) {
            return next(request)
        }
        return admin(request, next: next)
    }

    /// `/v1`: open without an `api_token`; else its token or the admin token.
    private func api(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        if apiToken.isEmpty { return next(request) }
        guard let given = Self.credential(request.headers["Authorization"]) else {
            return unauthorized("/v1 routes need an Authorization: Bearer token (api_token is set)", basic: false, realm: "unfold")
        }
        guard Self.constantTimeEquals(given, apiToken) || (!token.isEmpty && Self.constantTimeEquals(given, token)) else {
            return unauthorized("the API token is not valid", basic: false, realm: "unfold")
        }
        return next(request)
    }

    private func admin(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        if token.isEmpty {
            guard request.isFromLoopback else {
                return .error(.forbidden, code: "forbidden", message: "admin routes answer loopback clients only when no admin_token is configured")
            }
            return next(request)
        }
        // A browser opening the dashboard is asked for the token as a password (Basic, RFC
        // 7617), and then sends it with every request of the page; programs send Bearer.
        let page = request.path == "/admin/ui"
        guard let given = Self.credential(request.headers["Authorization"]) else {
            return unauthorized("admin routes need an Authorization: Bearer token", basic: page)
        }
        guard Self.constantTimeEquals(given, token) else {
            return unauthorized("the admin token is not valid", basic: page)
        }
        return next(request)
    }

    /// The token of `Bearer <token>`, or the password of `Basic base64(user:password)`.
    static func credential(_ header: String?) -> String? {
        guard let header, header.count > 6 else { return nil }
        let scheme = header.prefix(while: { $0 != " " }).lowercased()
        let value = String(header.drop(while: { $0 != " " })).trimmingOWSAdmin()
        switch scheme {
        case "bearer": return value
        case "basic":
            guard let data = Data(base64Encoded: value), let pair = String(data: data, encoding: .utf8), let colon = pair.firstIndex(of: ":") else { return nil }
            return String(pair[pair.index(after: colon)...])
        default: return nil
        }
    }

    private func unauthorized(_ message: String, basic: Bool, realm: String = "unfold-admin") -> HTTPResponse {
        var response = HTTPResponse.error(.unauthorized, code: "unauthorized", message: message)
        // RFC 6750 §3 — say which scheme is expected (RFC 7617 Basic for the page, so a
        // browser asks for it).
        response.headers.add(name: "WWW-Authenticate", value: basic ? "Basic realm=\"\(realm)\", charset=\"UTF-8\"" : "Bearer realm=\"\(realm)\"")
        return response
    }

    /// Compares every byte of the expected token whatever the input, so the time taken
    /// does not tell an attacker how much of a guess was right.
    static func constantTimeEquals(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<b.count {
            difference |= (i < a.count ? a[i] : 0) ^ b[i]
        }
        return difference == 0
    }
}

private extension String {
    func trimmingOWSAdmin() -> String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}
