/// The HTTP version of a request; only 1.0 and 1.1 are accepted.
public struct HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// The request line and header section of a request, as the parser produced them.
public struct HTTPRequestHead: Sendable, Equatable {
    public var method: String
    /// The request target as sent (origin form, e.g. `/v1/items/7/similar?k=5`).
    public var target: String {
        didSet { (path, query) = Self.split(target) }
    }
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    /// The path part of the target, without the query (split once, when the target is set).
    public private(set) var path: String
    /// The raw query string after `?`, or nil.
    public private(set) var query: String?

    public init(method: String, target: String, version: HTTPVersion, headers: HTTPHeaders) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        (path, query) = Self.split(target)
    }

    private static func split(_ target: String) -> (String, String?) {
        guard let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        return (String(target[..<q]), String(target[target.utf8.index(after: q)...]))
    }

    /// RFC 9112 §9.3: HTTP/1.1 persists unless `close` is among the Connection
    /// tokens; HTTP/1.0 persists only with `keep-alive`.
    public var keepAlive: Bool {
        let tokens = headers.tokens("Connection")
        if version == .http1_1 { return !tokens.contains("close") }
        return tokens.contains("keep-alive") && !tokens.contains("close")
    }

    /// RFC 9110 §10.1.1: the client waits for `100 Continue` before sending the body.
    public var expectsContinue: Bool {
        headers.tokens("Expect").contains("100-continue")
    }
}
