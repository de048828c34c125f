import CZlib

/// gzip (RFC 1952) through zlib.
public enum Gzip {
    public enum Error: Swift.Error, Equatable, CustomStringConvertible {
        case zlib(String, Int32)
        case tooLarge(limit: Int)
        case truncated

        public var description: String {
            switch self {
            case .zlib(let op, let code): return "zlib \(op) failed with code \(code)"
            case .tooLarge(let limit): return "decompressed data larger than \(limit) bytes"
            case .truncated: return "gzip stream is truncated"
            }
        }
    }

    /// windowBits 15 + 16 writes the gzip wrapper instead of zlib's.
    private static let gzipWindowBits: Int32 = 15 + 16

    /// True when `bytes` start with the gzip magic 1f 8b.
    public static func isGzip<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8 {
        var it = bytes.makeIterator()
        return it.next() == 0x1F && it.next() == 0x8B
    }

    public static func compress(_ input: [UInt8], level: Int32 = 6) throws(Error) -> [UInt8] {
        var stream = z_stream()
        var status = deflateInit2_(&stream, level, Z_DEFLATED, gzipWindowBits, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .zlib("deflateInit2", status) }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 32)
        let produced: Int = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                status = deflate(&stream, Z_FINISH)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        guard status == Z_STREAM_END else { throw .zlib("deflate", status) }
        output.removeSubrange(produced...)
        return output
    }

    /// Decompresses a whole gzip stream (several members are concatenated), refusing more than `maxBytes`.
    public static func decompress(_ input: [UInt8], maxBytes: Int = Int.max) throws(Error) -> [UInt8] {
        try input.withUnsafeBytes { raw in
            Swift.Result { () throws(Error) -> [UInt8] in
                let inflater = try Inflater(raw)
                let pieceSize = 64 * 1024
                let piece = UnsafeMutablePointer<UInt8>.allocate(capacity: pieceSize)
                defer { piece.deallocate() }
                var output: [UInt8] = []
                while !inflater.finished {
                    let produced = try inflater.inflate(into: piece, count: pieceSize)
                    if output.count + produced > maxBytes { throw .tooLarge(limit: maxBytes) }
                    output.append(contentsOf: UnsafeBufferPointer(start: piece, count: produced))
                }
                return output
            }
        }.get()
    }

    /// Inflates gzip data held in memory (a map of the file, say) a piece at a time, so the
    /// caller decides how much of the output exists at once. Concatenated gzip members are one
    /// stream, as gzip(1) reads them.
    final class Inflater {
        /// On the heap: zlib keeps a pointer back to its stream and refuses one that moved.
        private let stream: UnsafeMutablePointer<z_stream>
        private let input: UnsafeRawBufferPointer
        /// Input bytes handed to zlib so far (`avail_in` is 32-bit: at most 1 GiB at a time).
        private var given = 0
        /// True once the last member has ended exactly at the end of the input.
        private(set) var finished = false

        init(_ input: UnsafeRawBufferPointer) throws(Error) {
            let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            stream.initialize(to: z_stream())
            // windowBits 15 + 32: a gzip (or zlib) header, detected.
            let status = inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
            guard status == Z_OK else {
                stream.deallocate()
                throw .zlib("inflateInit2", status)
            }
            self.stream = stream
            self.input = input
        }

        deinit {
            inflateEnd(stream)
            stream.deallocate()
        }

        /// Input bytes zlib has used.
        var consumed: Int { given - Int(stream.pointee.avail_in) }

        /// Fills `output[0..<count]`, or less only where the data ends (`finished`).
        func inflate(into output: UnsafeMutablePointer<UInt8>, count: Int) throws(Error) -> Int {
            var produced = 0
            while produced < count && !finished {
                if stream.pointee.avail_in == 0, given < input.count, let base = input.baseAddress {
                    let piece = min(input.count - given, 1 << 30)
                    stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self) + given)
                    stream.pointee.avail_in = uInt(piece)
                    given += piece
                }
                let room = min(count - produced, 1 << 30)
                stream.pointee.next_out = output + produced
                stream.pointee.avail_out = uInt(room)
                let status = CZlib.inflate(stream, Z_NO_FLUSH)
                produced += room - Int(stream.pointee.avail_out)
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    // Another member may follow.
                    if stream.pointee.avail_in == 0 && given == input.count { finished = true } else { inflateReset(stream) }
                case Z_BUF_ERROR where stream.pointee.avail_in == 0 && given == input.count:
                    throw .truncated  // no progress possible: the input ended inside a member
                default:
                    throw .zlib("inflate", status)
                }
            }
            return produced
        }
    }
}
