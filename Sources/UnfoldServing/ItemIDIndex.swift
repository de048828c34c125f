#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The item ids of a served model in an open-addressing table keyed by their UTF-8 bytes
/// (FNV-1a), so a request's ids resolve straight from the body bytes, with no `String`.
public struct ItemIDIndex: Sendable {
    private let blob: [UInt8]
    /// ids[i] is blob[offsets[i] ..< offsets[i + 1]].
    private let offsets: [Int]
    private let slots: [Int32]
    private let mask: Int

    public init(ids: [String]) {
        var blob: [UInt8] = [], offsets = [0]
        offsets.reserveCapacity(ids.count + 1)
        for id in ids {
            blob.append(contentsOf: id.utf8)
            offsets.append(blob.count)
        }
        var capacity = 16
        while capacity < 2 * ids.count { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        blob.withUnsafeBufferPointer { b in
            for i in 0..<ids.count {
                var slot = Self.hash(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: b[offsets[i]..<offsets[i + 1]]))) & (capacity - 1)
                while slots[slot] >= 0 { slot = (slot + 1) & (capacity - 1) }
                slots[slot] = Int32(i)
            }
        }
        self.blob = blob
        self.offsets = offsets
        self.slots = slots
        self.mask = capacity - 1
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// The row of the id whose UTF-8 bytes these are.
    public func index(of bytes: UnsafeRawBufferPointer) -> Int? {
        var slot = Self.hash(bytes) & mask
        return blob.withUnsafeBufferPointer { b -> Int? in
            while true {
                let i = Int(slots[slot])
                if i < 0 { return nil }
                let start = offsets[i], end = offsets[i + 1]
                if end - start == bytes.count && (bytes.isEmpty || memcmp(b.baseAddress! + start, bytes.baseAddress!, bytes.count) == 0) { return i }
                slot = (slot + 1) & mask
            }
        }
    }

    public func index(of id: String) -> Int? {
        var id = id
        return id.withUTF8 { index(of: UnsafeRawBufferPointer($0)) }
    }
}
