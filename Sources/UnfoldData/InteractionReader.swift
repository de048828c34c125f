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
        // An uncompressed TSV or CSV is parsed straight from a memory map.
        if format != .jsonl, let interactions = try Self.mapped(path: path, maxBytes: maxBytes, { FastDelimitedReader.parse($0, format: format, path: path) }) {
            return Result(interactions: interactions, skippedLines: 0, skippedExamples: [])
        }
        let bytes = try readFileBytes(path: path, maxBytes: maxBytes)
        return try read(bytes: bytes, name: path, format: format)
    }

    /// `body` over the file's bytes, memory-mapped; nil (without calling it) for a gzip file
    /// or one that cannot be mapped, which the caller reads the ordinary way.
    static func mapped<T>(path: String, maxBytes: Int, _ body: (UnsafeRawBufferPointer) -> T?) throws(DataError) -> T? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(info.st_size)
        if size > maxBytes { throw .unreadable(path: path, reason: "larger than \(maxBytes) bytes") }
        guard size > 0, let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else { return nil }
        defer { munmap(map, size) }
        let bytes = UnsafeRawBufferPointer(start: map, count: size)
        if size >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B { return nil }
        _ = madvise(map, size, MADV_SEQUENTIAL)
        return body(bytes)
    }

    public func read(bytes raw: [UInt8], name: String, format: InteractionFormat) throws(DataError) -> Result {
        var bytes = raw
        if Gzip.isGzip(bytes) {
            do { bytes = try Gzip.decompress(bytes, maxBytes: maxBytes) } catch { throw .unreadable(path: name, reason: "gzip: \(error)") }
        }
        if format != .jsonl, let interactions = bytes.withUnsafeBytes({ FastDelimitedReader.parse($0, format: format, path: name) }) {
            return Result(interactions: interactions, skippedLines: 0, skippedExamples: [])
        }
        return try readLines(bytes: bytes, name: name, format: format)
    }

    /// The line-by-line reader (decompressed bytes): every format, every error with its line.
    func readLines(bytes: [UInt8], name: String, format: InteractionFormat) throws(DataError) -> Result {
        var result = Result(interactions: Interactions(), skippedLines: 0, skippedExamples: [])
        var layout: ColumnLayout?
        var sawHeaderDecision = false

        func reject(_ line: Int, _ reason: String) throws(DataError) {
            if !skipBadLines { throw .badLine(path: name, line: line, reason: reason) }
            result.skippedLines += 1
            if result.skippedExamples.count < 5 { result.skippedExamples.append("\(name):\(line): \(reason)") }
        }

        try forEachLine(bytes) { (number: Int, start: Int, end: Int) throws(DataError) in
            if start == end || bytes[start] == 0x23 { return }  // empty or # comment
            switch format {
            case .jsonl:
                do {
                    let record = try Self.parseJSONLine(bytes[start..<end])
                    if result.interactions.count == 0 && result.interactions.timestamps == nil && record.timestamp != nil {
                        result.interactions.timestamps = []
                    }
                    result.interactions.append(user: record.user, item: record.item, weight: record.weight, timestamp: record.timestamp)
                } catch let error as LineError {
                    try reject(number, error.reason)
                } catch {
                    try reject(number, "\(error)")
                }
            case .tsv, .csv:
                let separator: UInt8 = format == .tsv ? 0x09 : 0x2C
                let fields = Self.split(bytes[start..<end], separator: separator, unquote: format == .csv)
                if !sawHeaderDecision {
                    sawHeaderDecision = true
                    let decided = try ColumnLayout.decide(fields.map { decodeText($0) }, path: name)
                    layout = decided.layout
                    result.interactions.timestamps = decided.hasTimestamps ? [] : nil
                    if decided.isHeader { return }
                }
                let columns = layout!
                let needed = max(columns.user, columns.item)
                guard fields.count > needed else {
                    try reject(number, "expected at least \(needed + 1) \(format == .tsv ? "tab" : "comma")-separated fields, found \(fields.count)")
                    return
                }
                let user = decodeText(fields[columns.user]), item = decodeText(fields[columns.item])
                if user.isEmpty || item.isEmpty {
                    try reject(number, "empty user or item id")
                    return
                }
                var weight: Float = 1
                if let w = columns.weight, w < fields.count {
                    guard let value = Float(decodeText(fields[w])), value.isFinite, value >= 0 else {
                        try reject(number, "weight '\(decodeText(fields[w]))' is not a non-negative number")
                        return
                    }
                    weight = value
                }
                var timestamp: Double?
                if let t = columns.timestamp, t < fields.count {
                    guard let value = Double(decodeText(fields[t])), value.isFinite else {
                        try reject(number, "timestamp '\(decodeText(fields[t]))' is not a number")
                        return
                    }
                    timestamp = value
                }
                result.interactions.append(user: user, item: item, weight: weight, timestamp: timestamp)
            }
        }
        if result.interactions.count == 0 { throw .empty(path: name) }
        return result
    }

    struct LineError: Error { let reason: String }

    struct Record { var user: String; var item: String; var weight: Float; var timestamp: Double? }

    /// `{"user": "7", "item": 42, "weight": 2.5, "timestamp": 1700000000}`
    static func parseJSONLine(_ bytes: ArraySlice<UInt8>) throws -> Record {
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
    static func split(_ line: ArraySlice<UInt8>, separator: UInt8, unquote: Bool) -> [ArraySlice<UInt8>] {
        var fields: [ArraySlice<UInt8>] = []
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
