extension HTTPResponse {
    /// Writes the status line, fields and (unless `omitBody`) the body.
    ///
    /// The status line always says HTTP/1.1 (RFC 9110 §6.2); `requestVersion`
    /// decides only how persistence is signalled.
    ///
    /// `Content-Length` always states the body's length — for `HEAD` too
    /// (RFC 9110 §9.3.2) — except on 1xx/204/304, which have no content.
    func serialize(into out: inout [UInt8], requestVersion version: HTTPVersion, keepAlive: Bool, omitBody: Bool, date: String) {
        out.reserveCapacity(out.count + 160 + headers.count * 32 + (omitBody ? 0 : body.count))
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        appendDecimal(status.code, to: &out)
        out.append(0x20)
        out.append(contentsOf: status.reason.utf8)
        out.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        let bodiless = status.code < 200 || status.code == 204 || status.code == 304
        if !bodiless {
            out.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(body.count, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            out.append(contentsOf: "Connection: close\r\n".utf8)
        } else if version == .http1_0 {
            out.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        out.append(contentsOf: "Date: ".utf8)
        out.append(contentsOf: date.utf8)
        out.append(contentsOf: "\r\nServer: unfold\r\n\r\n".utf8)
        if !omitBody && !bodiless {
            out.append(contentsOf: body)
        }
    }
}

/// The decimal digits of a non-negative integer, appended without building a String.
func appendDecimal(_ value: Int, to out: inout [UInt8]) {
    precondition(value >= 0)
    var divisor = 1
    while divisor <= value / 10 { divisor *= 10 }
    var rest = value
    while divisor > 0 {
        out.append(UInt8(0x30 + rest / divisor))
        rest %= divisor
        divisor /= 10
    }
}
