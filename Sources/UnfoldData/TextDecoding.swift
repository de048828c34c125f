/// Decodes bytes as UTF-8 when they are valid UTF-8, else as ISO-8859-1 (older data
/// sets such as MovieLens' item titles are Latin-1).
func decodeText<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    if let utf8 = String(validating: bytes, as: UTF8.self) { return utf8 }
    var text = ""
    text.unicodeScalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
    return text
}

/// The lines of a byte buffer without their terminators (LF or CRLF), with 1-based
/// line numbers; `body(lineNumber, start, end)` gets byte offsets. Returns how many lines.
@discardableResult
func forEachLine<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ body: (Int, Int, Int) throws(DataError) -> Void) throws(DataError) -> Int where Bytes.Index == Int {
    var start = bytes.startIndex
    var lineNumber = 0
    let count = bytes.endIndex
    while start < count {
        lineNumber += 1
        var end = start
        while end < count && bytes[end] != 0x0A { end += 1 }
        var lineEnd = end
        if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        try body(lineNumber, start, lineEnd)
        start = end + 1
    }
    return lineNumber
}

/// The rows of a tab-separated file whose first non-empty line is a header: `header(fields)`
/// once, then `row(lineNumber, fields)` for every further non-empty line. Fields are decoded
/// as UTF-8, or Latin-1 where that fails (as MovieLens files need).
func forEachTabSeparatedRow(path: String, header: ([String]) throws(DataError) -> Void, row: (Int, [String]) throws(DataError) -> Void) throws(DataError) {
    let bytes = try readFileBytes(path: path, maxBytes: 1 << 30)
    var first = true
    try forEachLine(bytes) { (number: Int, start: Int, end: Int) throws(DataError) in
        guard start < end else { return }
        let fields = InteractionReader.split(bytes[start..<end], separator: 0x09, unquote: false).map { decodeText($0) }
        if first {
            first = false
            try header(fields)
        } else {
            try row(number, fields)
        }
    }
    if first { throw .badHeader(path: path, reason: "the file is empty") }
}
