import Dispatch

/// A gzip file's text a block at a time, each block whole lines, the next block inflating on
/// another thread while the caller reads the current one: what is in memory is the compressed
/// bytes, two blocks and whatever the caller builds, never the whole text.
struct InflatedBlocks {
    static let defaultBlockSize = 32 << 20

    let gzip: UnsafeRawBufferPointer
    /// The file, for errors.
    let name: String
    /// Inflated bytes per block (a block grows for a longer line).
    var blockSize = defaultBlockSize
    /// The most inflated bytes the whole stream may hold.
    var maxBytes = Int.max

    /// `body(block, expectedBytes)` for each block in order (`expectedBytes`: the whole text's
    /// size as the compression ratio so far predicts it); stops and returns false as soon as
    /// `body` does. A gzip error (truncated, corrupt, over `maxBytes`) wins over an error `body`
    /// throws — the rest of the stream is inflated to look for one — as when the whole file was
    /// inflated before any line was read.
    func forEach(_ body: (UnsafeRawBufferPointer, Int) throws(DataError) -> Bool) throws(DataError) -> Bool {
        let filler = try gzipErrors { () throws(Gzip.Error) in try BlockFiller(gzip, maxBytes: maxBytes) }
        // Under a small limit, a block need not hold more than the text may.
        let capacity = maxBytes < blockSize ? maxBytes + 1 : blockSize
        let blocks = [TextBlock(capacity: capacity), TextBlock(capacity: capacity)]
        var current = 0
        var more = try gzipErrors { () throws(Gzip.Error) in try filler.fill(blocks[0], after: nil) }
        while more {
            let block = blocks[current], next = blocks[1 - current]
            let expected = filler.expectedTotal
            // `next` takes the unfinished line after `block`'s whole lines, which `body` does not read.
            let inflating = Background { Swift.Result { () throws(Gzip.Error) in try filler.fill(next, after: block) } }
            let outcome = Swift.Result { () throws(DataError) in try body(block.lines, expected) }
            let filled = inflating.wait()
            switch outcome {
            case .success(true):
                more = try gzipErrors { () throws(Gzip.Error) in try filled.get() }
                current = 1 - current
            case .success(false):
                return false
            case .failure(let error):
                try gzipErrors { () throws(Gzip.Error) in
                    _ = try filled.get()
                    try filler.drain(into: block)
                }
                throw error
            }
        }
        return true
    }

    private func gzipErrors<T>(_ work: () throws(Gzip.Error) -> T) throws(DataError) -> T {
        do { return try work() } catch { throw .unreadable(path: name, reason: "gzip: \(error)") }
    }
}

/// Inflated text: `[0, lineEnd)` whole lines, `[lineEnd, filled)` the start of the next line.
private final class TextBlock: @unchecked Sendable {  // one thread at a time fills it; readers wait for that
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int
    var lineEnd = 0, filled = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var lines: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: lineEnd) }

    /// Twice the room, the bytes kept: for a line longer than the block.
    func grow() {
        let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * capacity)
        larger.update(from: base, count: filled)
        base.deallocate()
        base = larger
        capacity *= 2
    }
}

/// The inflater, cutting its output into blocks of whole lines.
private final class BlockFiller: @unchecked Sendable {  // used by one thread at a time
    private let inflater: Gzip.Inflater
    private let compressedSize: Int
    private let maxBytes: Int
    private var inflated = 0

    init(_ gzip: UnsafeRawBufferPointer, maxBytes: Int) throws(Gzip.Error) {
        inflater = try Gzip.Inflater(gzip)
        compressedSize = gzip.count
        self.maxBytes = maxBytes
    }

    /// The whole text's size, extrapolated from the ratio so far (at most `maxBytes`).
    var expectedTotal: Int {
        let consumed = inflater.consumed
        guard consumed > 0 else { return inflated }
        let estimate = Double(inflated) * Double(compressedSize) / Double(consumed)
        return estimate < Double(maxBytes) ? Int(estimate) : maxBytes
    }

    /// `block` filled with `previous`'s unfinished line and the text after it, cut after its
    /// last line end (or at the end of the text); false when there is no text left.
    func fill(_ block: TextBlock, after previous: TextBlock?) throws(Gzip.Error) -> Bool {
        block.filled = 0
        if let previous {
            let carried = previous.filled - previous.lineEnd
            while block.capacity < carried { block.grow() }
            block.base.update(from: previous.base + previous.lineEnd, count: carried)
            block.filled = carried
        }
        while true {
            let searchFrom = block.filled
            try inflate(into: block)
            if inflater.finished {
                block.lineEnd = block.filled
                return block.filled > 0
            }
            var cut = block.filled
            while cut > searchFrom && block.base[cut - 1] != 0x0A { cut -= 1 }
            if cut > searchFrom {
                block.lineEnd = cut
                return true
            }
            block.grow()  // no line end in the whole block
        }
    }

    /// The rest of the stream inflated into `scratch` and dropped, for its errors.
    func drain(into scratch: TextBlock) throws(Gzip.Error) {
        while !inflater.finished {
            scratch.filled = 0
            try inflate(into: scratch)
        }
    }

    private func inflate(into block: TextBlock) throws(Gzip.Error) {
        let produced = try inflater.inflate(into: block.base + block.filled, count: block.capacity - block.filled)
        inflated += produced
        if inflated > maxBytes { throw .tooLarge(limit: maxBytes) }
        block.filled += produced
    }
}

/// `work` on another thread; `wait()` blocks until it is done and gives its result.
private final class Background<Value>: @unchecked Sendable {  // `value` is written before `done` signals, read after
    private var value: Value?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global().async {
            self.value = work()
            self.done.signal()
        }
    }

    func wait() -> Value {
        done.wait()
        return value!
    }
}
