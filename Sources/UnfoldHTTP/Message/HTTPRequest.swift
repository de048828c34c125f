/// A complete request as handlers see it: head, decoded body, and where it came from.
public struct HTTPRequest: Sendable, Equatable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    /// The peer's address, e.g. `127.0.0.1` or `::1`.
    public var remoteAddress: String
    /// Parameters captured by the router from `{name}` segments.
    public var pathParameters: [String: String] = [:]
    /// The template of the route that matched (`/v1/items/{id}`), nil when none did: what
    /// logs and metrics name a request by, rather than its raw path.
    public var route: String?

    public init(head: HTTPRequestHead, body: [UInt8] = [], remoteAddress: String = "") {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public var method: String { head.method }
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }

    /// True when the peer is on the loopback interface (127.0.0.0/8 or ::1).
    public var isFromLoopback: Bool {
        remoteAddress.hasPrefix("127.") || remoteAddress == "::1" || remoteAddress.hasPrefix("::ffff:127.")
    }

    /// Query parameters, percent-decoded, `+` read as space; the first value of a name wins.
    public var queryParameters: [String: String] {
        guard let query = head.query, !query.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(parts[0])
            let value = parts.count > 1 ? percentDecode(parts[1]) : ""
            if result[name] == nil { result[name] = value }
        }
        return result
    }
}

/// Decodes `%XX` escapes (and `+` as space in query strings); malformed escapes are kept as written.
public func percentDecode<S: StringProtocol>(_ text: S, plusAsSpace: Bool = true) -> String {
    var out: [UInt8] = []
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
        let b = bytes[i]
        if b == 0x25, i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
            out.append(UInt8(hi << 4 | lo))
            i += 3
        } else {
            out.append(b == 0x2B && plusAsSpace ? 0x20 : b)
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
