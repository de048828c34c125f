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
        out.append(contentsOf: "HTTP/1.1 \(status.code) \(status.reason)\r\n".utf8)
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        let bodiless = status.code < 200 || status.code == 204 || status.code == 304
        if !bodiless {
            out.append(contentsOf: "Content-Length: \(body.count)\r\n".utf8)
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
