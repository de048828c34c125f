import CPrefetch
import Dispatch
import Foundation

/// The fast path of `InteractionReader` for TSV and CSV: bytes parsed in place (a memory
/// map, or a block of inflated text), no `String` per line, both halves of a block on their
/// own core, each distinct id decoded into a `String` once per core.
///
/// It reads exactly what the line-by-line reader reads, or gives up: a line that reader would
/// reject (or skip with `skipBadLines`), a number in a form other than plain decimal digits
/// with an optional sign, point and exponent, or a quoted CSV field with quotes inside makes
/// `parse` return false (nil for a whole file), and the caller runs the line-by-line reader
/// over the same text for its error messages and line numbers. Ids keep their order of first
/// appearance (a block's first chunk's new ids, then the second's, then the next block's), so
/// the id maps equal the line-by-line reader's.
struct FastDelimitedReader {
    /// One chunk's records, with ids local to the worker that parsed it.
    struct Chunk {
        var userIndex: [Int32] = [], itemIndex: [Int32] = []
        var weights: [Float] = []
        var timestamps: [Double] = []
        var failed = false
    }

    /// What one core keeps from block to block: the ids it has met, and their indices in the
    /// result. Merging a block then maps only the ids a worker meets for the first time.
    final class Worker: @unchecked Sendable {  // parsing on its own thread, merged after
        let users = ByteInterner(), items = ByteInterner()
        /// By interner index.
        var userMap: [Int32] = [], itemMap: [Int32] = []
    }

    let format: InteractionFormat
    let path: String
    /// From the first line that is neither empty nor a comment, as in the line-by-line reader
    /// (`ColumnLayout.decide`).
    private var layout: (columns: ColumnLayout, hasTimestamps: Bool)?
    private var result = Interactions()
    private let workers: [Worker]

    init(format: InteractionFormat, path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) {
        precondition(format == .tsv || format == .csv, "the fast reader reads TSV and CSV")
        self.format = format
        self.path = path
        workers = (0..<max(1, threads)).map { _ in Worker() }
    }

    /// A whole file; nil when the line-by-line reader must read it.
    static func parse(_ bytes: UnsafeRawBufferPointer, format: InteractionFormat, path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> Interactions? {
        guard format == .tsv || format == .csv else { return nil }
        var reader = FastDelimitedReader(format: format, path: path, threads: threads)
        guard reader.parse(bytes, expectedBytes: bytes.count) else { return nil }
        return reader.finish()
    }

    /// The records read, or nil without any (the line-by-line reader then says why).
    func finish() -> Interactions? {
        result.count > 0 ? result : nil
    }

    /// Reads the file's next block of whole lines; false when it holds anything the
    /// line-by-line reader must read. `expectedBytes`, the whole text's (expected) size, sizes
    /// the result's arrays once.
    mutating func parse(_ block: UnsafeRawBufferPointer, expectedBytes: Int) -> Bool {
        guard let base = block.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let count = block.count
        let separator: UInt8 = format == .tsv ? 0x09 : 0x2C
        let unquote = format == .csv

        var dataStart = 0
        if layout == nil {
            var start = 0
            while start < count {
                var end = start
                while end < count && base[end] != 0x0A { end += 1 }
                var lineEnd = end
                if lineEnd > start && base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd > start && base[start] != 0x23 {
                    let fields = InteractionReader.split(UnsafeBufferPointer(start: base + start, count: lineEnd - start), separator: separator, unquote: unquote)
                    guard let decided = try? ColumnLayout.decide(fields.map { decodeText($0) }, path: path) else { return false }
                    layout = (decided.layout, decided.hasTimestamps)
                    result = Interactions(hasTimestamps: decided.hasTimestamps)
                    dataStart = decided.isHeader ? min(end + 1, count) : start
                    break
                }
                start = end + 1
            }
        }
        guard let (columns, timed) = layout else { return true }  // only comments and empty lines so far

        // Chunks that end at line ends.
        let parts = max(1, min(workers.count, (count - dataStart) / (1 << 20) + 1))
        var bounds = [dataStart]
        for w in 1..<parts {
            var cut = max(bounds[w - 1], dataStart + (count - dataStart) * w / parts)
            while cut < count && base[cut - 1] != 0x0A { cut += 1 }
            bounds.append(cut)
        }
        bounds.append(count)
        var chunks = (0..<parts).map { _ in Chunk() }
        let cuts = bounds, workers = workers
        nonisolated(unsafe) let text = base  // read only
        chunks.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let results = out  // each worker writes its own element
            DispatchQueue.concurrentPerform(iterations: parts) { w in
                results[w] = Self.parseChunk(text, from: cuts[w], to: cuts[w + 1], separator: separator, unquote: unquote, layout: columns, hasTimestamps: timed, worker: workers[w])
            }
        }
        if chunks.contains(where: \.failed) { return false }
        append(&chunks, share: expectedBytes > count ? Double(count) / Double(expectedBytes) : 1)
        return true
    }

    /// The chunks' records (`share` of the text), each chunk's memory released once appended;
    /// ids a worker met for the first time are added to the result in that order, one `String` each.
    private mutating func append(_ chunks: inout [Chunk], share: Double) {
        let records = chunks.reduce(0) { $0 + $1.userIndex.count }
        if result.userIndex.capacity == 0 {
            // Sized once: for a block of a larger text, by its density with 1/8 to spare (capacity
            // never written is never resident); growing by doubling would copy, holding both. An
            // estimate reserves at most an eighth of the machine's memory for the widest array
            // (8-byte timestamps), so a text whose start compresses far better than the rest
            // cannot fail to allocate.
            let estimate = share < 1 ? min(Double(records) / share * 1.125, Double(ProcessInfo.processInfo.physicalMemory / 64)) : 0
            let expected = max(records, Int(estimate))
            result.userIndex.reserveCapacity(expected)
            result.itemIndex.reserveCapacity(expected)
            result.weights.reserveCapacity(expected)
            result.timestamps?.reserveCapacity(expected)
        }
        for w in chunks.indices {
            let chunk = chunks[w], worker = workers[w]
            chunks[w] = Chunk()
            for k in worker.userMap.count..<worker.users.count { worker.userMap.append(result.users.intern(decodeText(worker.users.bytes(k)))) }
            for k in worker.itemMap.count..<worker.items.count { worker.itemMap.append(result.items.intern(decodeText(worker.items.bytes(k)))) }
            let userMap = worker.userMap, itemMap = worker.itemMap
            result.userIndex.append(contentsOf: chunk.userIndex.lazy.map { userMap[Int($0)] })
            result.itemIndex.append(contentsOf: chunk.itemIndex.lazy.map { itemMap[Int($0)] })
            result.weights.append(contentsOf: chunk.weights)
            result.timestamps?.append(contentsOf: chunk.timestamps)
        }
    }

    /// One line's fields, found and hashed before its ids are looked up.
    struct Pending {
        var user = 0, userLength = 0, item = 0, itemLength = 0
        var userHash: UInt64 = 0, itemHash: UInt64 = 0
        var weight: Float = 1, timestamp = 0.0
    }

    /// Lines are taken in batches: the fields of every line of a batch are found and their
    /// ids hashed first, with the hash-table slots they will probe prefetched, then the ids
    /// are looked up — so the table's cache misses (its slots outgrow the caches with a few
    /// hundred thousand users) overlap instead of stalling one line at a time.
    static func parseChunk(_ base: UnsafePointer<UInt8>, from: Int, to: Int, separator: UInt8, unquote: Bool, layout: ColumnLayout, hasTimestamps: Bool, worker: Worker) -> Chunk {
        // strtof/strtod read with this thread's locale: the C one, as Float(String) does.
        let previous = uselocale(cLocale)
        defer { uselocale(previous) }
        var chunk = Chunk()
        let estimate = (to - from) / 24 + 16
        chunk.userIndex.reserveCapacity(estimate)
        chunk.itemIndex.reserveCapacity(estimate)
        chunk.weights.reserveCapacity(estimate)
        if hasTimestamps { chunk.timestamps.reserveCapacity(estimate) }
        let columns = max(layout.user, layout.item, layout.weight ?? 0, layout.timestamp ?? 0) + 1
        let needed = max(layout.user, layout.item)
        let batchSize = 32
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * columns) { bounds -> Chunk in
            withUnsafeTemporaryAllocation(of: Pending.self, capacity: batchSize) { batch -> Chunk in
                let fieldStart = bounds.baseAddress!, fieldEnd = bounds.baseAddress! + columns
                var start = from
                while start < to {
                    // Pass 1: up to `batchSize` lines' fields, hashes and prefetches.
                    var pending = 0
                    while pending < batchSize && start < to {
                        var end = start
                        var field = 0
                        var fieldBegin = start
                        while end < to && base[end] != 0x0A {
                            if base[end] == separator {
                                if field < columns { fieldStart[field] = fieldBegin; fieldEnd[field] = end }
                                field += 1
                                fieldBegin = end + 1
                            }
                            end += 1
                        }
                        var lineEnd = end
                        if lineEnd > start && base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                        let lineStart = start
                        start = end + 1
                        if lineEnd == lineStart || base[lineStart] == 0x23 { continue }  // empty or # comment
                        if field < columns { fieldStart[field] = fieldBegin; fieldEnd[field] = lineEnd }
                        let found = field + 1
                        guard found > needed else { chunk.failed = true; return chunk }
                        for f in 0..<min(found, columns) {
                            if fieldEnd[f] > lineEnd { fieldEnd[f] = lineEnd }
                            if unquote {
                                let a = fieldStart[f], b = fieldEnd[f]
                                if b - a >= 2 && base[a] == 0x22 && base[b - 1] == 0x22 { fieldStart[f] = a + 1; fieldEnd[f] = b - 1 }
                            }
                        }
                        var line = Pending()
                        line.user = fieldStart[layout.user]
                        line.userLength = fieldEnd[layout.user] - line.user
                        line.item = fieldStart[layout.item]
                        line.itemLength = fieldEnd[layout.item] - line.item
                        guard line.userLength > 0, line.itemLength > 0 else { chunk.failed = true; return chunk }
                        if let w = layout.weight, w < found {
                            guard let value = parseNumber(base + fieldStart[w], fieldEnd[w] - fieldStart[w]), value.float.isFinite, value.float >= 0 else { chunk.failed = true; return chunk }
                            line.weight = value.float
                        }
                        if let t = layout.timestamp, t < found {
                            guard let value = parseNumber(base + fieldStart[t], fieldEnd[t] - fieldStart[t]), value.double.isFinite else { chunk.failed = true; return chunk }
                            line.timestamp = value.double
                        }
                        line.userHash = ByteInterner.hash(base + line.user, line.userLength)
                        line.itemHash = ByteInterner.hash(base + line.item, line.itemLength)
                        worker.users.prefetch(line.userHash)
                        worker.items.prefetch(line.itemHash)
                        batch[pending] = line
                        pending += 1
                    }
                    // Pass 2: the lookups, in file order.
                    for k in 0..<pending {
                        let line = batch[k]
                        chunk.userIndex.append(worker.users.intern(base + line.user, line.userLength, hash: line.userHash))
                        chunk.itemIndex.append(worker.items.intern(base + line.item, line.itemLength, hash: line.itemHash))
                        chunk.weights.append(line.weight)
                        if hasTimestamps { chunk.timestamps.append(line.timestamp) }
                    }
                }
                return chunk
            }
        }
    }

    /// The C locale, whatever the process's: `Float(String)` reads "1.5" with a point always.
    nonisolated(unsafe) static let cLocale: locale_t = newlocale(1 << LC_NUMERIC, "C", nil)  // LC_NUMERIC_MASK

    /// A field read both as Float and as Double, each exactly as `Float(String)` and
    /// `Double(String)` read it.
    struct Number {
        var float: Float
        var double: Double
    }

    /// Plain decimal digits: exact integers directly; other forms made only of digits, sign,
    /// point and exponent through strtof/strtod on a terminated copy, the chunk's thread in the
    /// C locale (what `Float(String)` calls); anything else (spaces, hex, inf, nan, empty) is nil, for the line-by-line reader.
    @inline(__always)
    static func parseNumber(_ p: UnsafePointer<UInt8>, _ length: Int) -> Number? {
        guard length > 0, length < 64 else { return nil }
        var integer: UInt64 = 0
        var plain = length <= 15
        for k in 0..<length {
            let digit = p[k] &- 0x30
            if digit > 9 { plain = false; break }
            integer = integer &* 10 &+ UInt64(digit)
        }
        if plain {
            // Below 2^24 both conversions are exact; otherwise Float rounds once from the integer, like strtof.
            return Number(float: Float(integer), double: Double(integer))
        }
        for k in 0..<length {
            switch p[k] {
            case 0x30...0x39, 0x2B, 0x2D, 0x2E, 0x45, 0x65: continue
            default: return nil
            }
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer -> Number? in
            let text = buffer.baseAddress!
            for k in 0..<length { text[k] = CChar(bitPattern: p[k]) }
            text[length] = 0
            var endF: UnsafeMutablePointer<CChar>?, endD: UnsafeMutablePointer<CChar>?
            let f = strtof(text, &endF), d = strtod(text, &endD)
            guard endF == text + length, endD == text + length else { return nil }
            return Number(float: f, double: d)
        }
    }
}

/// Distinct byte strings → dense indices in order of first appearance. An open-addressing
/// table of 16-byte slots: the key's first 8 bytes, and a word with 24 bits of its hash, its
/// length and its index. Ids of up to 8 bytes (most: "u1234", "i42") are matched inside the
/// slot, one cache line; longer ones compare the rest of their bytes with the interner's copy.
/// Each new key is copied into the interner's arena, so it outlives the block it came from.
final class ByteInterner: @unchecked Sendable {  // one per worker, used by one thread at a time
    // One thread uses an interner: no runtime exclusivity checks on the hot fields.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>  // 2 words per slot
    @exclusivity(unchecked) private var mask: Int
    @exclusivity(unchecked) private var arena: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var arenaCapacity = 1 << 16, arenaUsed = 0
    @exclusivity(unchecked) private var offsets: [Int] = []  // in the arena
    @exclusivity(unchecked) private var lengths: [Int32] = []

    init() {
        let size = 1 << 12
        slots = .allocate(capacity: 2 * size)
        slots.initialize(repeating: 0, count: 2 * size)
        mask = size - 1
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        slots.deallocate()
        arena.deallocate()
    }

    var count: Int { offsets.count }

    /// The bytes of the key of this index.
    func bytes(_ index: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena + offsets[index], count: Int(lengths[index]))
    }

    /// Starts loading the slot a key of this hash probes first.
    @inline(__always)
    func prefetch(_ hash: UInt64) {
        unfold_prefetch(slots + 2 * (Int(truncatingIfNeeded: hash) & mask))
    }

    /// The index of the `length` bytes at `key` (`hash` is `ByteInterner.hash` of them), adding them if new.
    @inline(__always)
    func intern(_ key: UnsafePointer<UInt8>, _ length: Int, hash: UInt64) -> Int32 {
        let prefix = Self.prefix(key, length)
        let head = (hash & 0xFFFF_FF00_0000_0000) | (UInt64(min(length, 255)) << 32)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let word = slots[2 * slot + 1]
            if word == 0 { break }
            if word & 0xFFFF_FFFF_0000_0000 == head && slots[2 * slot] == prefix {
                let index = Int(word & 0xFFFF_FFFF) - 1
                if length <= 8 || (Int(lengths[index]) == length && Self.same(arena + offsets[index] + 8, key + 8, length - 8)) { return Int32(index) }
            }
            slot = (slot + 1) & mask
        }
        let index = offsets.count
        slots[2 * slot] = prefix
        slots[2 * slot + 1] = head | UInt64(index + 1)
        if arenaUsed + length > arenaCapacity { growArena(to: arenaUsed + length) }
        (arena + arenaUsed).update(from: key, count: length)
        offsets.append(arenaUsed)
        lengths.append(Int32(length))
        arenaUsed += length
        if (index + 1) * 2 > mask { grow() }
        return Int32(index)
    }

    /// FNV-1a over the bytes, seeded with the length, its halves folded together.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(truncatingIfNeeded: length)
        for k in 0..<length { hash = (hash ^ UInt64(p[k])) &* 0x100_0000_01B3 }
        return hash ^ (hash >> 29)
    }

    /// The first (up to) 8 bytes, little-endian, zero-padded.
    @inline(__always)
    static func prefix(_ p: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in 0..<min(length, 8) { value |= UInt64(p[k]) << (8 * UInt64(k)) }
        return value
    }

    @inline(__always)
    static func same(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ length: Int) -> Bool {
        var k = 0
        while k < length {
            if a[k] != b[k] { return false }
            k += 1
        }
        return true
    }

    private func grow() {
        let oldSize = mask + 1, size = oldSize * 2
        let old = slots
        slots = .allocate(capacity: 2 * size)
        slots.initialize(repeating: 0, count: 2 * size)
        mask = size - 1
        for s in 0..<oldSize where old[2 * s + 1] != 0 {
            // The slot's position comes from the hash's lower bits, which the slot does not
            // keep: recompute it from the bytes.
            let index = Int(old[2 * s + 1] & 0xFFFF_FFFF) - 1
            var slot = Int(truncatingIfNeeded: Self.hash(arena + offsets[index], Int(lengths[index]))) & mask
            while slots[2 * slot + 1] != 0 { slot = (slot + 1) & mask }
            slots[2 * slot] = old[2 * s]
            slots[2 * slot + 1] = old[2 * s + 1]
        }
        old.deallocate()
    }

    private func growArena(to needed: Int) {
        while arenaCapacity < needed { arenaCapacity *= 2 }
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: arenaCapacity)
        larger.update(from: arena, count: arenaUsed)
        arena.deallocate()
        arena = larger
    }
}
