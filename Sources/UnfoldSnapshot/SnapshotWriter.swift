import CZlib
import Foundation
import UnfoldModels

/// Encodes a snapshot and writes it atomically: a temporary file in the same directory,
/// fsync, rename over the final name, fsync of the directory. A crash at any point leaves
/// either no file or a complete one under the final name; temporary names (`.tmp-`) are
/// never loaded.
public enum SnapshotWriter {
    /// `NAME-VERSION.unfold`, e.g. `wals-1763862405123.unfold`.
    public static func fileName(name: String, version: UInt64) -> String { "\(name)-\(version).unfold" }

    /// The inverse of `fileName`: (NAME, VERSION), or nil for temporary (`.`-prefixed) and other files.
    public static func parse(fileName: String) -> (name: String, version: UInt64)? {
        guard fileName.hasSuffix(".unfold"), !fileName.hasPrefix(".") else { return nil }
        let stem = fileName.dropLast(".unfold".count)
        guard let dash = stem.lastIndex(of: "-"), let version = UInt64(stem[stem.index(after: dash)...]) else { return nil }
        let name = String(stem[..<dash])
        return name.isEmpty ? nil : (name, version)
    }

    public static func encode(_ s: Model) throws -> [UInt8] {
        let n = s.items.count, d = s.items.dimensions
        var payloads: [(SnapshotFormat.Section, [UInt8])] = []

        // Item ids: count, count+1 offsets into the UTF-8 blob, the blob.
        var ids = ByteWriter()
        ids.u32(UInt32(n))
        var offset: UInt32 = 0
        ids.u32(0)
        var blob: [UInt8] = []
        for id in s.items.ids {
            blob.append(contentsOf: id.utf8)
            offset += UInt32(id.utf8.count)
            ids.u32(offset)
        }
        ids.bytes.append(contentsOf: blob)
        payloads.append((.itemIDs, ids.bytes))

        var table = ByteWriter()
        table.f32s(s.items.vectors.buffer)
        payloads.append((.itemTable, table.bytes))

        var norms = ByteWriter()
        norms.f32s(s.items.norms.buffer)
        payloads.append((.itemNorms, norms.bytes))

        switch s.encoder {
        case .foldIn(let foldIn):
            var f = ByteWriter()
            f.f32(foldIn.alpha)
            f.f32(foldIn.unobservedWeight)
            f.f32(foldIn.regularization)
            f.u32(UInt32(foldIn.dimensions))
            f.f32s(foldIn.gram)
            // Optional: the users' Gram for item fold-in (a section of 16 + 2·d²·4 bytes).
            if let userGram = foldIn.userGram { f.f32s(userGram) }
            payloads.append((.foldIn, f.bytes))
            // Optional: the recency weighting of the query's confidences (κ, h).
            if foldIn.recencyBoost > 0 {
                var recency = ByteWriter()
                recency.f32(foldIn.recencyBoost)
                recency.f32(foldIn.recencyHalfLife)
                payloads.append((.foldInRecency, recency.bytes))
            }
            // Optional: a fold-in objective other than WALS's (ALS-WR: λ·n per query).
            if foldIn.objective != .wals {
                var objective = ByteWriter()
                objective.u32(foldIn.objective.rawValue)
                payloads.append((.foldInObjective, objective.bytes))
            }
        case .tower(let tower):
            // u32 length of a JSON header (shapes and the feature schema), the JSON, zero
            // padding to 4 bytes, then the parameters in `TowerLayout` order and the item biases.
            var t = ByteWriter()
            let header = Array(try JSONEncoder().encode(TowerHeader(tower.layout)))
            t.u32(UInt32(header.count))
            t.bytes.append(contentsOf: header)
            t.pad(to: 4)
            t.f32s(tower.parameters.buffer)
            t.f32s(tower.itemBias.buffer)
            payloads.append((.tower, t.bytes))
        case .meanPooling:
            break
        }

        var popularity = ByteWriter()
        popularity.f32s(s.popularity)
        payloads.append((.popularity, popularity.bytes))

        var neighbours = ByteWriter()
        neighbours.u32(UInt32(s.neighbours.perItem))
        for i in s.neighbours.indices.buffer { neighbours.i32(i) }
        neighbours.f32s(s.neighbours.scores.buffer)
        payloads.append((.neighbours, neighbours.bytes))

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        payloads.append((.metadata, Array(try encoder.encode(s.metadata))))
        payloads.append((.itemAttributes, Array(try encoder.encode(s.attributes))))

        // Optional: the approximate inner-product index (32-byte header, centroids, list
        // offsets, members).
        if let index = s.index {
            var x = ByteWriter()
            x.u32(1)  // kind: inverted lists over norm-augmented items
            x.u32(UInt32(index.lists))
            x.u32(UInt32(index.dimensions))
            x.u32(UInt32(index.probes))
            x.f32(index.maxNorm)
            x.f32(index.recall)
            x.u32(UInt32(index.sampleQueries))
            x.u32(0)
            x.f32s(index.centroids.buffer)
            for o in index.offsets.buffer { x.u32(o) }
            for m in index.members.buffer { x.u32(m) }
            payloads.append((.annIndex, x.bytes))
        }

        // Header, table, then aligned payloads.
        var out = ByteWriter()
        out.bytes.append(contentsOf: SnapshotFormat.magic)
        out.u32(SnapshotFormat.version)
        out.u32(s.kind.rawValue)
        out.u32(UInt32(d))
        out.u32(UInt32(n))
        out.u32(UInt32(payloads.count))
        out.u32(0)
        out.u64(s.createdAt)
        out.u64(s.version)
        out.bytes.append(contentsOf: [UInt8](repeating: 0, count: 12))
        out.u32(crc(out.bytes[0..<60]))

        var position = SnapshotFormat.aligned(SnapshotFormat.headerSize + payloads.count * SnapshotFormat.sectionEntrySize)
        for (section, bytes) in payloads {
            out.u32(section.rawValue)
            out.u32(0)
            out.u64(UInt64(position))
            out.u64(UInt64(bytes.count))
            out.u32(crc(bytes[...]))
            out.u32(0)
            position = SnapshotFormat.aligned(position + bytes.count)
        }
        for (_, bytes) in payloads {
            out.pad(to: SnapshotFormat.alignment)
            out.bytes.append(contentsOf: bytes)
        }
        return out.bytes
    }

    /// Writes `contents` into `directory` atomically; returns the final path.
    @discardableResult
    public static func write(_ contents: Model, name: String, to directory: String) throws -> String {
        let bytes = try encode(contents)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = (directory as NSString).appendingPathComponent(fileName(name: name, version: contents.version))
        let temporary = (directory as NSString).appendingPathComponent(".tmp-\(getpid())-\(fileName(name: name, version: contents.version))")
        let fd = openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SnapshotError.writeFailed(path: temporary, reason: String(cString: strerror(errno))) }
        var written = 0
        let ok: Bool = bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = writeBytes(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 { if errno == EINTR { continue } else { return false } }
                written += n
            }
            return fsync(fd) == 0
        }
        let writeErrno = errno
        close(fd)
        guard ok else {
            unlink(temporary)
            throw SnapshotError.writeFailed(path: temporary, reason: String(cString: strerror(writeErrno)))
        }
        guard rename(temporary, final) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SnapshotError.writeFailed(path: final, reason: reason)
        }
        // The rename is durable only once the directory entry is on disk. The file is complete
        // either way; a failure here is reported, not fatal.
        let dir = openFile(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0, fsync(dir) == 0 || errno == EINVAL else {
            let reason = String(cString: strerror(errno))
            if dir >= 0 { close(dir) }
            throw SnapshotError.writeFailed(path: directory, reason: "the snapshot is written but the directory could not be synced: \(reason)")
        }
        close(dir)
        return final
    }

    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { crc($0) }
    }

    /// CRC-32 (zlib's, the one gzip and PNG use).
    static func crc(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(crc32(0, raw.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(raw.count)))
    }
}
