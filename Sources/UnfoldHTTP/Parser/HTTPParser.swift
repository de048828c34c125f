#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the parser found in the bytes it was given.
public enum HTTPParserEvent: Sendable, Equatable {
    /// A complete request line and header section, framing checked.
    case head(HTTPRequestHead)
    /// Some bytes of the decoded body (chunk framing removed).
    case body([UInt8])
    /// The request is complete; the next bytes start a new request.
    case end
}

/// An incremental HTTP/1.1 request parser (RFC 9112).
///
/// Synchronous and byte-oriented, it knows nothing of sockets: feed it bytes with
/// `append(_:)` and pull events with `next()` until it returns nil (more bytes
/// needed). Any split of the same bytes yields the same events. An error is final:
/// the connection must answer it and close.
public struct HTTPParser: Sendable {
    private enum State: Sendable {
        case requestLine
        case headers(HeadInProgress)
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers(bytes: Int)
        case endPending
        case failed(HTTPParserError)
    }

    private struct HeadInProgress: Sendable {
        var method: String
        var target: String
        var version: HTTPVersion
        var headers = HTTPHeaders()
        var bytes = 0
    }

    public let limits: HTTPParserLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var state: State = .requestLine
    private var decodedBodyBytes = 0

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Bytes received but not yet consumed by `next()`.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Whether the request whose head was last returned has a body to read.
    public private(set) var expectsBody = false

    /// True between requests: nothing of a next request has been consumed yet.
    public var isAtRequestBoundary: Bool {
        if case .requestLine = state { return true }
        return false
    }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex >= 4096 && readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    /// The next event, or nil when the buffered bytes are not enough to make one.
    public mutating func next() throws(HTTPParserError) -> HTTPParserEvent? {
        do {
            return try step()
        } catch {
            state = .failed(error)
            throw error
        }
    }

    private mutating func step() throws(HTTPParserError) -> HTTPParserEvent? {
        // A copy the lazily built overflow errors of `takeLine` can capture.
        let limits = self.limits
        while true {
            switch state {
            case .failed(let error):
                throw error

            case .requestLine:
                guard let line = try takeLine(limit: limits.maxRequestLineBytes, onOverflow: .uriTooLong(limit: limits.maxRequestLineBytes)) else {
                    return nil
                }
                // RFC 9112 §2.2 — ignore empty lines before the request line.
                if line.isEmpty { continue }
                state = .headers(try parseRequestLine(line))

            case .headers(var head):
                // Out of the enum while it grows, so adding a field does not copy the list.
                state = .requestLine
                let remaining = limits.maxHeaderBytes - head.bytes
                guard let line = try takeLine(limit: max(remaining - 2, 0), onOverflow: .headerFieldsTooLarge("header section larger than \(limits.maxHeaderBytes) bytes")) else {
                    state = .headers(head)
                    return nil
                }
                head.bytes += line.count + 2
                if line.isEmpty {
                    return try finishHead(head)
                }
                let (name, value) = try parseFieldLine(line)
                if head.headers.count >= limits.maxHeaderCount {
                    throw .headerFieldsTooLarge("more than \(limits.maxHeaderCount) header fields")
                }
                head.headers.add(name: name, value: value)
                state = .headers(head)

            case .fixedBody(let remaining):
                if remaining == 0 {
                    state = .requestLine
                    return .end
                }
                let available = buffer.count - readIndex
                guard available > 0 else { return nil }
                let n = min(available, remaining)
                let chunk = Array(buffer[readIndex..<readIndex + n])
                readIndex += n
                state = .fixedBody(remaining: remaining - n)
                return .body(chunk)

            case .chunkSize:
                guard let line = try takeLine(limit: limits.maxChunkLineBytes, onOverflow: .badRequest("chunk-size line longer than \(limits.maxChunkLineBytes) bytes")) else {
                    return nil
                }
                let size = try parseChunkSize(line)
                if size == 0 {
                    state = .trailers(bytes: 0)
                } else {
                    if decodedBodyBytes + size > limits.maxBodyBytes {
                        throw .payloadTooLarge(limit: limits.maxBodyBytes)
                    }
                    decodedBodyBytes += size
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                let available = buffer.count - readIndex
                guard available > 0 else { return nil }
                let n = min(available, remaining)
                let chunk = Array(buffer[readIndex..<readIndex + n])
                readIndex += n
                state = n == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - n)
                return .body(chunk)

            case .chunkDataEnd:
                // RFC 9112 §7.1 — chunk-data is followed by exactly CRLF.
                guard buffer.count - readIndex >= 2 else {
                    if buffer.count - readIndex == 1 && buffer[readIndex] != 0x0D {
                        throw .badRequest("chunk data not followed by CRLF")
                    }
                    return nil
                }
                guard buffer[readIndex] == 0x0D && buffer[readIndex + 1] == 0x0A else {
                    throw .badRequest("chunk data not followed by CRLF")
                }
                readIndex += 2
                state = .chunkSize

            case .trailers(let bytes):
                let remaining = limits.maxHeaderBytes - bytes
                guard let line = try takeLine(limit: max(remaining - 2, 0), onOverflow: .headerFieldsTooLarge("trailer section larger than \(limits.maxHeaderBytes) bytes")) else {
                    return nil
                }
                if line.isEmpty {
                    state = .endPending
                    continue
                }
                // RFC 9112 §7.1.2 — trailer fields are parsed like header fields, then dropped.
                _ = try parseFieldLine(line)
                state = .trailers(bytes: bytes + line.count + 2)

            case .endPending:
                state = .requestLine
                return .end
            }
        }
    }

    // MARK: - Lines

    /// Takes one CRLF-terminated line (without the CRLF), or nil if none is complete yet.
    /// RFC 9112 §2.2 — a bare LF is not accepted as a line terminator.
    /// `onOverflow` is built only when thrown (its message is an interpolated string).
    private mutating func takeLine(limit: Int, onOverflow: @autoclosure () -> HTTPParserError) throws(HTTPParserError) -> ArraySlice<UInt8>? {
        let start = readIndex
        // Look only as far as the longest allowed line (plus CRLF), so the verdict
        // never depends on bytes beyond the limit or on how the bytes arrived.
        let window = min(buffer.count - start, limit + 2)
        guard let lf = Self.indexOfLF(in: buffer, from: start, count: window) else {
            if window == limit + 2 { throw onOverflow() }
            return nil
        }
        guard lf > start, buffer[lf - 1] == 0x0D else {
            throw .badRequest("bare LF line ending; lines must end with CRLF")
        }
        readIndex = lf + 1
        return buffer[start..<(lf - 1)]
    }

    private static func indexOfLF(in buffer: [UInt8], from start: Int, count: Int) -> Int? {
        guard count > 0 else { return nil }
        return buffer.withUnsafeBufferPointer { base -> Int? in
            let from = base.baseAddress! + start
            guard let hit = memchr(from, 0x0A, count) else { return nil }
            return start + UnsafeRawPointer(from).distance(to: UnsafeRawPointer(hit))
        }
    }

    // MARK: - Request line (RFC 9112 §3)

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> HeadInProgress {
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
        let version = try parseVersion(parts.2)

        if target.hasPrefix("/") {
            // origin-form
        } else if target == "*" && method == "OPTIONS" {
            // asterisk-form
        } else if let path = Self.originForm(ofAbsolute: target) {
            target = path
        } else {
            throw .badRequest("request target must be origin-form ('/path?query') or absolute-form")
        }
        var head = HeadInProgress(method: method, target: target, version: version)
        head.headers.reserveCapacity(8)
        return head
    }

    /// RFC 9112 §3.2.2 — absolute-form `http://host/path` becomes `/path`.
    private static func originForm(ofAbsolute target: String) -> String? {
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

    private func parseVersion(_ b: ArraySlice<UInt8>) throws(HTTPParserError) -> HTTPVersion {
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

    private func parseFieldLine(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> (String, String) {
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

    // MARK: - Framing (RFC 9112 §6)

    private mutating func finishHead(_ progress: HeadInProgress) throws(HTTPParserError) -> HTTPParserEvent {
        let head = HTTPRequestHead(method: progress.method, target: progress.target, version: progress.version, headers: progress.headers)
        let headers = head.headers

        // RFC 9112 §3.2 — HTTP/1.1 needs exactly one Host; more than one is always an error.
        let hosts = headers.values("Host")
        if hosts.count > 1 { throw .badRequest("more than one Host header field") }
        if hosts.isEmpty && head.version == .http1_1 { throw .badRequest("HTTP/1.1 request without a Host header field") }

        let expectations = headers.tokens("Expect")
        if let other = expectations.first(where: { $0 != "100-continue" }) {
            throw .expectationFailed("unsupported expectation '\(other)'; only 100-continue is supported")
        }

        decodedBodyBytes = 0
        let transferEncodings = headers.values("Transfer-Encoding")
        let contentLengths = headers.values("Content-Length")
        if !transferEncodings.isEmpty {
            // §6.1 — Content-Length with Transfer-Encoding is a smuggling vector: reject.
            if !contentLengths.isEmpty {
                throw .badRequest("both Content-Length and Transfer-Encoding present")
            }
            // §6.1 — HTTP/1.0 has no transfer codings; the framing is faulty.
            if head.version == .http1_0 {
                throw .badRequest("Transfer-Encoding in an HTTP/1.0 request")
            }
            let codings = headers.tokens("Transfer-Encoding").map { coding in
                coding.split(separator: ";").first.map { String($0).trimmingOWS() } ?? coding
            }
            // §6.3 — if chunked is not the final coding the length cannot be determined.
            guard codings.last == "chunked" else {
                throw .badRequest("Transfer-Encoding whose final coding is not chunked")
            }
            // §7 — chunked must not be applied more than once.
            if codings.filter({ $0 == "chunked" }).count > 1 {
                throw .badRequest("chunked transfer coding applied more than once")
            }
            if codings.count > 1 {
                throw .notImplemented("transfer coding '\(codings[0])' is not implemented; only chunked is")
            }
            state = .chunkSize
            expectsBody = true
        } else if !contentLengths.isEmpty {
            let length = try parseContentLength(contentLengths)
            state = .fixedBody(remaining: length)
            expectsBody = length > 0
        } else {
            state = .fixedBody(remaining: 0)
            expectsBody = false
        }
        return .head(head)
    }

    /// §6.3 — a list of identical values is the value; differing values are an error.
    private func parseContentLength(_ values: [String]) throws(HTTPParserError) -> Int {
        // The common case, one plain number, without splitting.
        if values.count == 1, let only = values.first, !only.isEmpty, only.utf8.count <= 18, only.utf8.allSatisfy(isDigit), let value = Int(only) {
            if value > limits.maxBodyBytes { throw .payloadTooLarge(limit: limits.maxBodyBytes) }
            return value
        }
        var length: Int?
        for field in values {
            for element in field.split(separator: ",", omittingEmptySubsequences: false) {
                let text = element.trimmingOWS()
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy(isDigit), let value = Int(text) else {
                    throw .badRequest("invalid Content-Length '\(text)'")
                }
                if let length, length != value {
                    throw .badRequest("conflicting Content-Length values")
                }
                length = value
            }
        }
        guard let length else { throw .badRequest("empty Content-Length") }
        if length > limits.maxBodyBytes { throw .payloadTooLarge(limit: limits.maxBodyBytes) }
        return length
    }

    /// §7.1 — chunk-size is 1*HEXDIG, optionally followed by bounded chunk extensions.
    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParserError) -> Int {
        var size = 0
        var digits = 0
        var index = line.startIndex
        while index < line.endIndex, let v = hexValue(line[index]) {
            digits += 1
            if digits > 15 { throw .badRequest("chunk size too large") }
            size = size << 4 | v
            index += 1
        }
        guard digits > 0 else { throw .badRequest("chunk size is not a hexadecimal number") }
        let rest = line[index...]
        if !rest.isEmpty {
            // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
            var ext = rest.drop { $0 == 0x20 || $0 == 0x09 }
            guard ext.first == 0x3B else { throw .badRequest("invalid characters after chunk size") }
            ext = ext.dropFirst()
            guard ext.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
                throw .badRequest("chunk extension contains a control character")
            }
        }
        return size
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
