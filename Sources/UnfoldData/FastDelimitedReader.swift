import CPrefetch
import Dispatch
import Foundation

/// The fast path of `InteractionReader` for TSV and CSV: bytes parsed in place (a memory
/// map, or the decompressed buffer), no `String` per line, both halves of the file on their
/// own core, each distinct id decoded into a `String` once.
///
/// It reads exactly what the line-by-line reader reads, or gives up: a line that reader would
/// reject (or skip with `skipBadLines`), a number in a form other than plain decimal digits
/// with an optional sign, point and exponent, or a quoted CSV field with quotes inside makes
/// `parse` return nil, and the caller runs the line-by-line reader over the same bytes for its
/// error messages and line numbers. Ids keep their order of first appearance (the first
/// chunk's new ids, then the second's), so the id maps equal the line-by-line reader's.
enum FastDelimitedReader {
    /// One chunk's records, with ids local to the chunk.
    struct Chunk {
        var users = ByteInterner(), items = ByteInterner()
        var userIndex: [Int32] = [], itemIndex: [Int32] = []
        var weights: [Float] = []
        var timestamps: [Double] = []
        var failed = false
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, format: InteractionFormat, path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount) -> Interactions? {
        guard format == .tsv || format == .csv, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let count = bytes.count
        let separator: UInt8 = format == .tsv ? 0x09 : 0x2C
        let unquote = format == .csv

        // The first line that is neither empty nor a comment decides the layout, as in the
        // line-by-line reader (`ColumnLayout.decide`).
        var start = 0
        var layout = ColumnLayout.positional
        var hasTimestamps = false
        var dataStart = 0
        while start < count {
            var end = start
            while end < count && base[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && base[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd > start && base[start] != 0x23 {
                let line = Array(UnsafeBufferPointer(start: base + start, count: lineEnd - start))
                let fields = InteractionReader.split(line[...], separator: separator, unquote: unquote)
                guard let decided = try? ColumnLayout.decide(fields.map { decodeText($0) }, path: path) else { return nil }
                layout = decided.layout
                hasTimestamps = decided.hasTimestamps
                dataStart = decided.isHeader ? end + 1 : start
                break
            }
            start = end + 1
        }
        guard start < count else { return nil }

        // Chunks that end at line ends.
        let workers = max(1, min(threads, (count - dataStart) / (1 << 20) + 1))
        var bounds = [dataStart]
        for w in 1..<workers {
            var cut = max(bounds[w - 1], dataStart + (count - dataStart) * w / workers)
            while cut < count && base[cut - 1] != 0x0A { cut += 1 }
            bounds.append(cut)
        }
        bounds.append(count)
        var chunks = (0..<workers).map { _ in Chunk() }
        let cuts = bounds, columns = layout, timed = hasTimestamps
        nonisolated(unsafe) let text = base  // read only
        chunks.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let results = out  // each worker writes its own element
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                results[w] = parseChunk(text, from: cuts[w], to: cuts[w + 1], separator: separator, unquote: unquote, layout: columns, hasTimestamps: timed)
            }
        }
        if chunks.contains(where: \.failed) { return nil }
        let total = chunks.reduce(0) { $0 + $1.userIndex.count }
        guard total > 0 else { return nil }

        // One String per distinct id, interned in order of first appearance.
        var result = Interactions(hasTimestamps: hasTimestamps)
        var userMaps: [[Int32]] = [], itemMaps: [[Int32]] = []
        for chunk in chunks {
            userMaps.append(chunk.users.strings(base).map { result.users.intern($0) })
            itemMaps.append(chunk.items.strings(base).map { result.items.intern($0) })
        }
        result.userIndex.reserveCapacity(total)
        result.itemIndex.reserveCapacity(total)
        result.weights.reserveCapacity(total)
        if hasTimestamps { result.timestamps!.reserveCapacity(total) }
        for (w, chunk) in chunks.enumerated() {
            let users = userMaps[w], items = itemMaps[w]
            result.userIndex.append(contentsOf: chunk.userIndex.lazy.map { users[Int($0)] })
            result.itemIndex.append(contentsOf: chunk.itemIndex.lazy.map { items[Int($0)] })
            result.weights.append(contentsOf: chunk.weights)
            if hasTimestamps { result.timestamps!.append(contentsOf: chunk.timestamps) }
        }
        return result
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
    static func parseChunk(_ base: UnsafePointer<UInt8>, from: Int, to: Int, separator: UInt8, unquote: Bool, layout: ColumnLayout, hasTimestamps: Bool) -> Chunk {
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
                        chunk.users.prefetch(line.userHash)
                        chunk.items.prefetch(line.itemHash)
                        batch[pending] = line
                        pending += 1
                    }
                    // Pass 2: the lookups, in file order.
                    for k in 0..<pending {
                        let line = batch[k]
                        chunk.userIndex.append(chunk.users.intern(base, line.user, line.userLength, hash: line.userHash))
                        chunk.itemIndex.append(chunk.items.intern(base, line.item, line.itemLength, hash: line.itemHash))
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

/// Distinct byte strings of one buffer → dense local indices in order of first appearance.
/// An open-addressing table of 16-byte slots: the key's first 8 bytes, and a word with 24
/// bits of its hash, its length and its index. Ids of up to 8 bytes (most: "u1234",
/// "i42") are matched inside the slot, one cache line, without touching the buffer; longer
/// ones compare the rest of their bytes where they first appeared.
final class ByteInterner: @unchecked Sendable {  // one per chunk, used by one thread
    // One thread uses an interner: no runtime exclusivity checks on the hot fields.
    @exclusivity(unchecked) private var slots: UnsafeMutablePointer<UInt64>  // 2 words per slot
    @exclusivity(unchecked) private var mask: Int
    @exclusivity(unchecked) private(set) var offsets: [Int] = []
    @exclusivity(unchecked) private(set) var lengths: [Int32] = []

    init() {
        let size = 1 << 12
        slots = .allocate(capacity: 2 * size)
        slots.initialize(repeating: 0, count: 2 * size)
        mask = size - 1
    }

    deinit { slots.deallocate() }

    var count: Int { offsets.count }

    /// Starts loading the slot a key of this hash probes first.
    @inline(__always)
    func prefetch(_ hash: UInt64) {
        unfold_prefetch(slots + 2 * (Int(truncatingIfNeeded: hash) & mask))
    }

    /// The index of the bytes at `offset` (`hash` is `ByteInterner.hash` of them), adding them if new.
    @inline(__always)
    func intern(_ base: UnsafePointer<UInt8>, _ offset: Int, _ length: Int, hash: UInt64) -> Int32 {
        let p = base + offset
        let prefix = Self.prefix(p, length)
        let head = (hash & 0xFFFF_FF00_0000_0000) | (UInt64(min(length, 255)) << 32)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let word = slots[2 * slot + 1]
            if word == 0 { break }
            if word & 0xFFFF_FFFF_0000_0000 == head && slots[2 * slot] == prefix {
                let index = Int(word & 0xFFFF_FFFF) - 1
                if length <= 8 || (Int(lengths[index]) == length && Self.same(base + offsets[index] + 8, p + 8, length - 8)) { return Int32(index) }
            }
            slot = (slot + 1) & mask
        }
        let index = offsets.count
        slots[2 * slot] = prefix
        slots[2 * slot + 1] = head | UInt64(index + 1)
        offsets.append(offset)
        lengths.append(Int32(length))
        if (index + 1) * 2 > mask { grow(base) }
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

    private func grow(_ base: UnsafePointer<UInt8>) {
        let oldSize = mask + 1, size = oldSize * 2
        let old = slots
        slots = .allocate(capacity: 2 * size)
        slots.initialize(repeating: 0, count: 2 * size)
        mask = size - 1
        for s in 0..<oldSize where old[2 * s + 1] != 0 {
            // The slot's position comes from the hash's lower bits, which the slot does not
            // keep: recompute it from the bytes.
            let index = Int(old[2 * s + 1] & 0xFFFF_FFFF) - 1
            var slot = Int(truncatingIfNeeded: Self.hash(base + offsets[index], Int(lengths[index]))) & mask
            while slots[2 * slot + 1] != 0 { slot = (slot + 1) & mask }
            slots[2 * slot] = old[2 * s]
            slots[2 * slot + 1] = old[2 * s + 1]
        }
        old.deallocate()
    }

    /// Each distinct byte string decoded (UTF-8, else Latin-1), in index order.
    func strings(_ base: UnsafePointer<UInt8>) -> [String] {
        (0..<count).map { decodeText(UnsafeBufferPointer(start: base + offsets[$0], count: Int(lengths[$0]))) }
    }
}
