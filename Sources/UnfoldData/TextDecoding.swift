/// Decodes bytes as UTF-8 when they are valid UTF-8, else as ISO-8859-1 (older data
/// sets such as MovieLens' item titles are Latin-1).
func decodeText<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
    var text = ""
    text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return text
}

/// The lines of a byte buffer without their terminators (LF or CRLF), with 1-based
/// line numbers; `body(lineNumber, start, end)` gets byte offsets.
func forEachLine(_ bytes: [UInt8], _ body: (Int, Int, Int) throws(DataError) -> Void) throws(DataError) {
    var start = 0
    var lineNumber = 0
    let count = bytes.count
    while start < count {
        lineNumber += 1
        var end = start
        while end < count && bytes[end] != 0x0A { end += 1 }
        var lineEnd = end
        if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        try body(lineNumber, start, lineEnd)
        start = end + 1
    }
}
