/// The line-by-line reader: every format, every error with its line. It is given a file's
/// text in order, whole or in blocks of whole lines; line numbers count on across blocks.
struct LineByLineReader {
    let name: String
    let format: InteractionFormat
    let skipBadLines: Bool
    private var result = InteractionReader.Result(interactions: Interactions(), skippedLines: 0, skippedExamples: [])
    private var layout: ColumnLayout?
    private var sawHeaderDecision = false
    private var linesBefore = 0

    init(name: String, format: InteractionFormat, skipBadLines: Bool) {
        self.name = name
        self.format = format
        self.skipBadLines = skipBadLines
    }

    /// The next block of the text.
    mutating func read(_ text: UnsafeRawBufferPointer) throws(DataError) {
        let bytes = text.assumingMemoryBound(to: UInt8.self)
        let first = linesBefore
        linesBefore += try forEachLine(bytes) { (number: Int, start: Int, end: Int) throws(DataError) in
            try line(first + number, bytes[start..<end])
        }
    }

    /// What was read, once the whole text was.
    func finish() throws(DataError) -> InteractionReader.Result {
        if result.interactions.count == 0 { throw .empty(path: name) }
        return result
    }

    private mutating func reject(_ line: Int, _ reason: String) throws(DataError) {
        if !skipBadLines { throw .badLine(path: name, line: line, reason: reason) }
        result.skippedLines += 1
        if result.skippedExamples.count < 5 { result.skippedExamples.append("\(name):\(line): \(reason)") }
    }

    private mutating func line(_ number: Int, _ bytes: Slice<UnsafeBufferPointer<UInt8>>) throws(DataError) {
        if bytes.isEmpty || bytes.first == 0x23 { return }  // empty or # comment
        switch format {
        case .jsonl:
            do {
                let record = try InteractionReader.parseJSONLine(bytes)
                if result.interactions.count == 0 && result.interactions.timestamps == nil && record.timestamp != nil {
                    result.interactions.timestamps = []
                }
                result.interactions.append(user: record.user, item: record.item, weight: record.weight, timestamp: record.timestamp)
            } catch let error as InteractionReader.LineError {
                try reject(number, error.reason)
            } catch {
                try reject(number, "\(error)")
            }
        case .tsv, .csv:
            let separator: UInt8 = format == .tsv ? 0x09 : 0x2C
            let fields = InteractionReader.split(bytes, separator: separator, unquote: format == .csv)
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
}
