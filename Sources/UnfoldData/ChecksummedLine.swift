import CZlib

/// The line every journal writes (the interaction log, erased users, the catalogue):
///
///     CRC32-hex8 TAB body LF
///
/// with the CRC-32 over the body. A line whose checksum does not hold was torn by a crash
/// or damaged: readers skip it or cut it off.
public enum ChecksummedLine {
    /// The whole line, LF included.
    public static func encode(_ body: [UInt8]) -> [UInt8] {
        var line = Array(String(format: "%08x", crc(body)).utf8)
        line.reserveCapacity(body.count + 10)
        line.append(0x09)
        line += body
        line.append(0x0A)
        return line
    }

    /// The body of a line (given without its LF) when its checksum holds, else nil.
    public static func body(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard line.count > 9, line[line.startIndex + 8] == 0x09 else { return nil }
        let holds = line.withUnsafeBufferPointer { p -> Bool in
            var stored: UInt32 = 0
            for k in 0..<8 {
                let b = p[k]
                let digit: UInt8
                switch b {
                case 0x30...0x39: digit = b - 0x30
                case 0x61...0x66: digit = b - 0x61 + 10
                case 0x41...0x46: digit = b - 0x41 + 10
                default: return false
                }
                stored = stored << 4 | UInt32(digit)
            }
            let body = UnsafeBufferPointer(rebasing: p[9...])
            return stored == UInt32(crc32(0, body.baseAddress, uInt(body.count)))
        }
        return holds ? line[(line.startIndex + 9)...] : nil
    }

    public static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(crc32(0, $0.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt($0.count))) }
    }
}
