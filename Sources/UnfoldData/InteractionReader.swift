import Foundation

/// Reads interactions from TSV, CSV or JSON Lines, each optionally gzip-compressed
/// (detected by the magic bytes). A bad line stops the read with its file and line
/// number, unless `skipBadLines` is set, in which case bad lines are counted.
public struct InteractionReader: Sendable {
    public struct Result: Sendable {
        public var interactions: Interactions
        public var skippedLines: Int
        /// The first few problems met while skipping, for the log.
        public var skippedExamples: [String]
    }

    public var skipBadLines: Bool
    public var maxBytes: Int
    /// Inflated bytes per block when reading gzip.
    var gzipBlockSize = InflatedBlocks.defaultBlockSize

    public init(skipBadLines: Bool = false, maxBytes: Int = 8 << 30) {
        self.skipBadLines = skipBadLines
        self.maxBytes = maxBytes
    }

    /// Reads a local path, or an http(s)/file URL fetched with libcurl.
    public func read(location: String, fetch: Fetcher.Options = Fetcher.Options()) throws(DataError) -> Result {
        guard Fetcher.isURL(location) else { return try read(path: location) }
        let response: Fetcher.Response
        do {
            var options = fetch
            options.maxBytes = min(options.maxBytes, maxBytes)
            response = try Fetcher.fetch(location, options: options)
        } catch {
            throw .unreadable(path: location, reason: error.description)
        }
        let path = URL(string: location)?.path ?? location
        return try read(bytes: response.body, name: location, format: .guess(fromPath: path))
    }

    public func read(path: String, format: InteractionFormat? = nil) throws(DataError) -> Result {
        let format = format ?? .guess(fromPath: path)
        if let result = try Self.mapped(path: path, maxBytes: maxBytes, { (bytes) throws(DataError) in try read(contents: bytes, name: path, format: format) }) {
            return result
        }
        let bytes = try readFileBytes(path: path, maxBytes: maxBytes)
        return try read(bytes: bytes, name: path, format: format)
    }

    /// `body` over the file's bytes, memory-mapped; nil (without calling it) for a file that
    /// cannot be mapped, which the caller reads the ordinary way.
    static func mapped<T>(path: String, maxBytes: Int, _ body: (UnsafeRawBufferPointer) throws(DataError) -> T) throws(DataError) -> T? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(info.st_size)
        if size > maxBytes { throw .unreadable(path: path, reason: "larger than \(maxBytes) bytes") }
        guard size > 0, let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else { return nil }
        defer { munmap(map, size) }
        _ = madvise(map, size, MADV_SEQUENTIAL)
        return try body(UnsafeRawBufferPointer(start: map, count: size))
    }

    public func read(bytes: [UInt8], name: String, format: InteractionFormat) throws(DataError) -> Result {
        try bytes.withUnsafeBytes { raw in
            Swift.Result { () throws(DataError) in try read(contents: raw, name: name, format: format) }
        }.get()
    }

    /// A file's bytes (mapped or in memory): gzip inflated a block at a time, TSV and CSV parsed
    /// in place, anything else — or anything the fast path refuses — line by line.
    func read(contents: UnsafeRawBufferPointer, name: String, format: InteractionFormat) throws(DataError) -> Result {
        if Gzip.isGzip(contents) { return try read(gzip: contents, name: name, format: format) }
        if format != .jsonl, let interactions = FastDelimitedReader.parse(contents, format: format, path: name) {
            return Result(interactions: interactions, skippedLines: 0, skippedExamples: [])
        }
        return try readLines(contents, name: name, format: format)
    }

    /// The line-by-line reader over a whole text.
    func readLines(_ text: UnsafeRawBufferPointer, name: String, format: InteractionFormat) throws(DataError) -> Result {
        var lines = LineByLineReader(name: name, format: format, skipBadLines: skipBadLines)
        try lines.read(text)
        return try lines.finish()
    }

    /// Blocks of the inflated text are parsed as the next ones inflate. A block the fast path
    /// refuses sends the whole stream, inflated again from its start, to the line-by-line reader
    /// (rare, and simpler than handing over mid-file with the ids read so far).
    private func read(gzip: UnsafeRawBufferPointer, name: String, format: InteractionFormat) throws(DataError) -> Result {
        let blocks = InflatedBlocks(gzip: gzip, name: name, blockSize: gzipBlockSize, maxBytes: maxBytes)
        if format != .jsonl {
            var fast = FastDelimitedReader(format: format, path: name)
            let complete = try blocks.forEach { (block, expectedBytes) throws(DataError) in fast.parse(block, expectedBytes: expectedBytes) }
            if complete, let interactions = fast.finish() {
                return Result(interactions: interactions, skippedLines: 0, skippedExamples: [])
            }
        }
        var lines = LineByLineReader(name: name, format: format, skipBadLines: skipBadLines)
        _ = try blocks.forEach { (block, _) throws(DataError) in
            try lines.read(block)
            return true
        }
        return try lines.finish()
    }

    struct LineError: Error { let reason: String }

    struct Record { var user: String; var item: String; var weight: Float; var timestamp: Double? }

    /// `{"user": "7", "item": 42, "weight": 2.5, "timestamp": 1700000000}`
    static func parseJSONLine(_ bytes: some Sequence<UInt8>) throws -> Record {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw LineError(reason: "not a JSON object")
        }
        func id(_ key: String) throws -> String {
            switch object[key] {
            case let s as String where !s.isEmpty: return s
            case let n as NSNumber: return n.stringValue
            case nil: throw LineError(reason: "missing \"\(key)\"")
            default: throw LineError(reason: "\"\(key)\" must be a non-empty string or a number")
            }
        }
        let user = try id("user"), item = try id("item")
        var weight: Float = 1
        if let w = object["weight"] {
            guard let n = w as? NSNumber, n.floatValue.isFinite, n.floatValue >= 0 else { throw LineError(reason: "\"weight\" must be a non-negative number") }
            weight = n.floatValue
        }
        var timestamp: Double?
        if let t = object["timestamp"] {
            guard let n = t as? NSNumber, n.doubleValue.isFinite else { throw LineError(reason: "\"timestamp\" must be a number") }
            timestamp = n.doubleValue
        }
        return Record(user: user, item: item, weight: weight, timestamp: timestamp)
    }

    /// Splits on a separator byte; with `unquote`, a field wrapped in double quotes loses them.
    static func split<Line: BidirectionalCollection<UInt8>>(_ line: Line, separator: UInt8, unquote: Bool) -> [Line.SubSequence] where Line.Index == Int {
        var fields: [Line.SubSequence] = []
        var start = line.startIndex
        var i = line.startIndex
        while i <= line.endIndex {
            if i == line.endIndex || line[i] == separator {
                var field = line[start..<i]
                if unquote, field.count >= 2, field.first == 0x22, field.last == 0x22 {
                    field = field.dropFirst().dropLast()
                }
                fields.append(field)
                start = i + 1
            }
            i += 1
        }
        return fields
    }
}

/// Reads a whole file, refusing files larger than `maxBytes`.
public func readFileBytes(path: String, maxBytes: Int = Int.max) throws(DataError) -> [UInt8] {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw .unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
    }
    defer { try? handle.close() }
    let data: Data
    do {
        data = try handle.readToEnd() ?? Data()
    } catch {
        throw .unreadable(path: path, reason: "\(error)")
    }
    if data.count > maxBytes { throw .unreadable(path: path, reason: "larger than \(maxBytes) bytes") }
    return [UInt8](data)
}
