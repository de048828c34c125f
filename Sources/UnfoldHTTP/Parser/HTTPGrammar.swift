/// The grammar of a request head's lines (RFC 9112 §3 and §5): the request line and field
/// lines, checked byte by byte; the bytes arrive from `HTTPParser`, which owns the state.
enum HTTPGrammar {
    // MARK: - Request line (RFC 9112 §3)

    static func requestLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> (method: String, target: String, version: HTTPVersion) {
        // Exactly two single spaces (no array of parts is built).
        guard let space1 = line.firstIndex(of: 0x20),
              let space2 = line[(space1 + 1)...].firstIndex(of: 0x20),
              !line[(space2 + 1)...].contains(0x20) else {
            throw .badRequest("malformed request line; expected 'METHOD target HTTP/1.1' separated by single spaces")
        }
        let parts = (line[..<space1], line[(space1 + 1)..<space2], line[(space2 + 1)...])
        guard !parts.0.isEmpty, !parts.1.isEmpty else {
            throw .badRequest("malformed request line; expected 'METHOD target HTTP/1.1' separated by single spaces")
        }
        guard parts.0.allSatisfy(isTokenByte) else {
            throw .badRequest("method is not a token")
        }
        guard parts.1.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .badRequest("request target contains a control, space or non-ASCII byte")
        }
        let method = String(decoding: parts.0, as: UTF8.self)
        var target = String(decoding: parts.1, as: UTF8.self)
        let version = try Self.version(parts.2)

        if target.hasPrefix("/") {
            // origin-form
        } else if target == "*" && method == "OPTIONS" {
            // asterisk-form
        } else if let path = Self.originForm(ofAbsolute: target) {
            target = path
        } else {
            throw .badRequest("request target must be origin-form ('/path?query') or absolute-form")
        }
        return (method, target, version)
    }

    /// RFC 9112 §3.2.2 — absolute-form `http://host/path` becomes `/path`.
    static func originForm(ofAbsolute target: String) -> String? {
        let lower = target.lowercased()
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            let rest = target.dropFirst(scheme.count)
            guard !rest.isEmpty else { return nil }
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                let path = String(rest[slash...])
                return path.hasPrefix("?") ? "/" + path : path
            }
            return "/"
        }
        return nil
    }

    static func version(_ b: ArraySlice<UInt8>) throws(HTTPParserError) -> HTTPVersion {
        let o = b.startIndex
        guard b.count == 8, b[o] == 0x48, b[o + 1] == 0x54, b[o + 2] == 0x54, b[o + 3] == 0x50, b[o + 4] == 0x2F,
              isDigit(b[o + 5]), b[o + 6] == 0x2E, isDigit(b[o + 7]) else {
            throw .badRequest("malformed HTTP version '\(String(decoding: b.prefix(16), as: UTF8.self))'")
        }
        let version = HTTPVersion(major: Int(b[o + 5] - 0x30), minor: Int(b[o + 7] - 0x30))
        guard version == .http1_1 || version == .http1_0 else {
            throw .versionNotSupported(version.description)
        }
        return version
    }

    // MARK: - Field lines (RFC 9112 §5)

    static func fieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> (String, String) {
        guard let first = line.first else { throw .badRequest("empty field line") }
        // §5.2 — obsolete line folding is rejected.
        if first == 0x20 || first == 0x09 {
            throw .badRequest("obsolete line folding (a field line starting with whitespace)")
        }
        guard let colon = line.firstIndex(of: 0x3A) else {
            throw .badRequest("field line without a colon")
        }
        let nameBytes = line[line.startIndex..<colon]
        // §5.1 — no whitespace is allowed between the field name and colon.
        if let last = nameBytes.last, last == 0x20 || last == 0x09 {
            throw .badRequest("whitespace between a field name and its colon")
        }
        guard !nameBytes.isEmpty, nameBytes.allSatisfy(isTokenByte) else {
            throw .badRequest("field name is empty or not a token")
        }
        var valueBytes = line[(colon + 1)...]
        while let b = valueBytes.first, b == 0x20 || b == 0x09 { valueBytes = valueBytes.dropFirst() }
        while let b = valueBytes.last, b == 0x20 || b == 0x09 { valueBytes = valueBytes.dropLast() }
        // RFC 9110 §5.5 — CR, LF and NUL are never valid in a field value.
        guard valueBytes.allSatisfy({ $0 == 0x09 || $0 >= 0x20 && $0 != 0x7F }) else {
            throw .badRequest("field value of '\(String(decoding: nameBytes, as: UTF8.self))' contains a control character")
        }
        return (String(decoding: nameBytes, as: UTF8.self), String(decoding: valueBytes, as: UTF8.self))
    }
}

@inline(__always) func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

@inline(__always) func hexValue(_ b: UInt8) -> Int? {
    switch b {
    case 0x30...0x39: return Int(b - 0x30)
    case 0x41...0x46: return Int(b - 0x41 + 10)
    case 0x61...0x66: return Int(b - 0x61 + 10)
    default: return nil
    }
}

/// RFC 9110 §5.6.2 tchar.
@inline(__always) func isTokenByte(_ b: UInt8) -> Bool {
    switch b {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: return true
    default: return false
    }
}
