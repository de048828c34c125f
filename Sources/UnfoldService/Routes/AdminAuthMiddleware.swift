import UnfoldHTTP

/// Guards `/admin`: with a token configured, `Authorization: Bearer <token>` is required
/// (compared in constant time); without one, only loopback clients are answered. `/metrics`
/// answers loopback clients freely and others as `/admin` (or everyone with `metricsPublic`).
public struct AdminAuthMiddleware: HTTPMiddleware {
    public let token: String
    public let metricsPublic: Bool

    public init(token: String, metricsPublic: Bool = false) {
        self.token = token
        self.metricsPublic = metricsPublic
    }

    public func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
        if request.path == "/metrics" {
            if metricsPublic || request.isFromLoopback { return next(request) }
        } else if !(request.path == "/admin" || request.path.hasPrefix("/admin/")) {
            return next(request)
        }
        if token.isEmpty {
            guard request.isFromLoopback else {
                return .error(.forbidden, code: "forbidden", message: "admin routes answer loopback clients only when no admin_token is configured")
            }
            return next(request)
        }
        guard let header = request.headers["Authorization"], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return unauthorized("admin routes need an Authorization: Bearer token")
        }
        guard Self.constantTimeEquals(String(header.dropFirst(7)).trimmingOWSAdmin(), token) else {
            return unauthorized("the bearer token is not valid")
        }
        return next(request)
    }

    private func unauthorized(_ message: String) -> HTTPResponse {
        var response = HTTPResponse.error(.unauthorized, code: "unauthorized", message: message)
        // RFC 6750 §3 — say which scheme is expected.
        response.headers.add(name: "WWW-Authenticate", value: #"Bearer realm="unfold-admin""#)
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
