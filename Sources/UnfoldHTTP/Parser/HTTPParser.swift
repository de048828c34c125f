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
                let (method, target, version) = try HTTPGrammar.requestLine(line)
                var head = HeadInProgress(method: method, target: target, version: version)
                head.headers.reserveCapacity(8)
                state = .headers(head)

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
                let (name, value) = try HTTPGrammar.fieldLine(line)
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
                _ = try HTTPGrammar.fieldLine(line)
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
