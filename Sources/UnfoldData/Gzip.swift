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

    /// windowBits 15 + 16 selects the gzip wrapper instead of zlib's.
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
        var stream = z_stream()
        var status = inflateInit2_(&stream, gzipWindowBits, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .zlib("inflateInit2", status) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var consumed = 0
        while consumed < input.count {
            let (used, produced, result) = input.withUnsafeBufferPointer { inBuf in
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress! + consumed)
                    stream.avail_in = uInt(inBuf.count - consumed)
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    return (inBuf.count - consumed - Int(stream.avail_in), outBuf.count - Int(stream.avail_out), r)
                }
            }
            consumed += used
            status = result
            if output.count + produced > maxBytes { throw .tooLarge(limit: maxBytes) }
            output.append(contentsOf: chunk[0..<produced])
            if status == Z_STREAM_END {
                // Another gzip member may follow.
                if consumed < input.count { inflateReset(&stream) }
                continue
            }
            guard status == Z_OK else {
                if status == Z_BUF_ERROR && used == 0 && produced == 0 { throw .truncated }
                throw .zlib("inflate", status)
            }
        }
        guard status == Z_STREAM_END else { throw .truncated }
        return output
    }
}
