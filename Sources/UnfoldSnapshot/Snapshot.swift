#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import UnfoldMath
import UnfoldModels

/// A verified, memory-mapped snapshot file: the `Model` it holds, whose item table,
/// norms and neighbour lists are read in place from the mapping. The mapping is released
/// when the last reference to any of them goes away.
///
/// `open` runs every check before returning: magic, format version, header CRC, the
/// section table (bounds, alignment, no duplicates), each section's CRC32, the shapes
/// the header promises, that every stored index is in range, and that every float is
/// finite. A file that fails any check is never returned.
public final class Snapshot: Sendable {
    public let path: String
    public let fileSize: Int
    public let model: Model

    public static func open(path: String) throws(SnapshotError) -> Snapshot {
        let fd = openFile(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        let size = Int(info.st_size)
        guard size >= SnapshotFormat.headerSize else { throw .truncated("file is \(size) bytes, shorter than the \(SnapshotFormat.headerSize)-byte header") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw .unreadable(path: path, reason: "mmap: \(String(cString: strerror(errno)))")
        }
        // From here the mapping's owner unmaps it, whether the checks pass or not.
        let mapping = Mapping(base: map, size: size)
        return Snapshot(path: path, fileSize: size, model: try read(mapping))
    }

    private init(path: String, fileSize: Int, model: Model) {
        self.path = path
        self.fileSize = fileSize
        self.model = model
    }

    public var kind: ModelKind { model.kind }
    public var version: UInt64 { model.version }
    public var metadata: ModelMetadata { model.metadata }

    private static func read(_ mapping: Mapping) throws(SnapshotError) -> Model {
        let base = mapping.base, size = mapping.size
        let r = ByteReader(base: UnsafeRawPointer(base), count: size)

        guard memcmp(base, SnapshotFormat.magic, 8) == 0 else { throw .badMagic }
        let formatVersion = r.u32(8)
        guard formatVersion == SnapshotFormat.version else { throw .unsupportedVersion(formatVersion) }
        guard SnapshotWriter.crc(UnsafeRawBufferPointer(start: base, count: 60)) == r.u32(60) else { throw .headerChecksum }
        guard let kind = ModelKind(rawValue: r.u32(12)) else { throw .inconsistent("unknown model kind \(r.u32(12))") }
        let d = Int(r.u32(16)), n = Int(r.u32(20)), sectionCount = Int(r.u32(24))
        guard d > 0, d <= 4096 else { throw .inconsistent("dimension \(d) outside 1...4096") }
        let createdAt = r.u64(32)
        let version = r.u64(40)

        // Section table.
        let tableEnd = SnapshotFormat.headerSize + sectionCount * SnapshotFormat.sectionEntrySize
        guard sectionCount > 0, sectionCount < 64, tableEnd <= size else { throw .truncated("section table of \(sectionCount) entries does not fit") }
        var sections: [SnapshotFormat.Section: UnsafeRawBufferPointer] = [:]
        for index in 0..<sectionCount {
            let entry = SnapshotFormat.headerSize + index * SnapshotFormat.sectionEntrySize
            let rawKind = r.u32(entry)
            let offset = r.u64(entry + 8), length = r.u64(entry + 16), checksum = r.u32(entry + 24)
            guard offset <= UInt64(size), length <= UInt64(size), offset + length <= UInt64(size) else {
                throw .truncated("section \(index) (kind \(rawKind)) ends past the end of the file")
            }
            guard Int(offset) % SnapshotFormat.alignment == 0, Int(offset) >= tableEnd else {
                throw .badSection("section \(index) at offset \(offset) is not 64-byte aligned after the table")
            }
            guard let section = SnapshotFormat.Section(rawValue: rawKind) else { continue }  // unknown kinds are skipped
            guard sections[section] == nil else { throw .badSection("section \(section) appears twice") }
            let bytes = UnsafeRawBufferPointer(start: base + Int(offset), count: Int(length))
            guard SnapshotWriter.crc(bytes) == checksum else { throw .checksumMismatch(section: section.description) }
            sections[section] = bytes
        }
        func require(_ s: SnapshotFormat.Section) throws(SnapshotError) -> UnsafeRawBufferPointer {
            guard let bytes = sections[s] else { throw .badSection("required section \(s) is missing") }
            return bytes
        }
        func floats(_ s: SnapshotFormat.Section, _ bytes: UnsafeRawBufferPointer, from offset: Int, count: Int) throws(SnapshotError) -> UnsafeBufferPointer<Float> {
            guard offset + count * 4 <= bytes.count else { throw .inconsistent("section \(s) holds \(bytes.count) bytes, needs \(offset + count * 4)") }
            let p = UnsafeBufferPointer(start: (bytes.baseAddress! + offset).assumingMemoryBound(to: Float.self), count: count)
            for v in p where !v.isFinite { throw .nonFinite(section: s.description) }
            return p
        }

        // Item ids.
        let idBytes = try require(.itemIDs)
        let ids = ByteReader(base: idBytes.baseAddress!, count: idBytes.count)
        guard idBytes.count >= 4 + (n + 1) * 4, Int(ids.u32(0)) == n else { throw .inconsistent("item-ids section does not hold \(n) ids") }
        let blobStart = 4 + (n + 1) * 4
        var itemIDs: [String] = []
        itemIDs.reserveCapacity(n)
        var previous = 0
        for i in 0..<n {
            let end = Int(ids.u32(4 + (i + 1) * 4))
            guard end >= previous, blobStart + end <= idBytes.count else { throw .inconsistent("item id \(i) points outside the id blob") }
            itemIDs.append(String(decoding: UnsafeRawBufferPointer(rebasing: idBytes[(blobStart + previous)..<(blobStart + end)]), as: UTF8.self))
            previous = end
        }
        guard Set(itemIDs).count == n else { throw .inconsistent("item ids are not unique") }

        let table = try require(.itemTable)
        guard table.count == n * d * 4 else { throw .inconsistent("item-table is \(table.count) bytes, expected \(n)x\(d) floats") }
        let vectors = PinnedArray(mapped: try floats(.itemTable, table, from: 0, count: n * d).baseAddress!, count: n * d, owner: mapping)
        let norms = try require(.itemNorms)
        guard norms.count == n * 4 else { throw .inconsistent("item-norms is \(norms.count) bytes, expected \(n) floats") }
        let itemNorms = PinnedArray(mapped: try floats(.itemNorms, norms, from: 0, count: n).baseAddress!, count: n, owner: mapping)
        let items = ItemTable(ids: itemIDs, dimensions: d, vectors: vectors, norms: itemNorms)

        var foldIn: FoldIn?, tower: Tower?
        if let f = sections[.foldIn] {
            guard f.count >= 16 else { throw .inconsistent("fold-in section too short") }
            let fr = ByteReader(base: f.baseAddress!, count: f.count)
            guard Int(fr.u32(12)) == d, f.count == 16 + d * d * 4 || f.count == 16 + 2 * d * d * 4 else {
                throw .inconsistent("fold-in Gram is not \(d)x\(d) (with or without the users' Gram)")
            }
            let params = try floats(.foldIn, f, from: 0, count: 3)
            let g = Array(try floats(.foldIn, f, from: 16, count: d * d))
            var objective = FoldIn.Objective.wals
            if let o = sections[.foldInObjective] {
                guard o.count == 4 else { throw .inconsistent("fold-in-objective is \(o.count) bytes, expected 4") }
                let raw = ByteReader(base: o.baseAddress!, count: o.count).u32(0)
                guard let known = FoldIn.Objective(rawValue: raw), known != .wals else {
                    throw .inconsistent("fold-in-objective \(raw) is not one this build knows (1 als-wr)")
                }
                objective = known
            }
            foldIn = FoldIn(alpha: params[0], unobservedWeight: params[1], regularization: params[2], gram: g, objective: objective)
            if f.count == 16 + 2 * d * d * 4 { foldIn!.userGram = Array(try floats(.foldIn, f, from: 16 + d * d * 4, count: d * d)) }
        }
        if sections[.foldInObjective] != nil, foldIn == nil { throw .badSection("a fold-in-objective section needs a fold-in section") }
        if let recency = sections[.foldInRecency] {
            guard foldIn != nil else { throw .badSection("a fold-in-recency section needs a fold-in section") }
            guard recency.count == 8 else { throw .inconsistent("fold-in-recency is \(recency.count) bytes, expected 8") }
            let values = try floats(.foldInRecency, recency, from: 0, count: 2)
            guard values[0] > 0, values[1] > 0 else { throw .inconsistent("fold-in-recency needs κ > 0 and a half-life > 0, got \(values[0]) and \(values[1])") }
            foldIn!.recencyBoost = values[0]
            foldIn!.recencyHalfLife = values[1]
        }
        if let t = sections[.tower] {
            tower = try Self.readTower(t, items: n, dimensions: d, owner: mapping)
        }
        let encoder: QueryEncoder
        switch kind.encoder {
        case .foldIn:
            guard let foldIn else { throw .badSection("a \(kind) snapshot needs a fold-in section") }
            encoder = .foldIn(foldIn)
        case .tower:
            guard let tower else { throw .badSection("a \(kind) snapshot needs a tower section") }
            encoder = .tower(tower)
        case .meanPooling:
            encoder = .meanPooling
        }

        let pop = try require(.popularity)
        guard pop.count == n * 4 else { throw .inconsistent("popularity is \(pop.count) bytes, expected \(n) floats") }
        let popularity = Array(try floats(.popularity, pop, from: 0, count: n))

        let nb = try require(.neighbours)
        guard nb.count >= 4 else { throw .inconsistent("neighbours section too short") }
        let k = Int(ByteReader(base: nb.baseAddress!, count: nb.count).u32(0))
        // The pairs must fit the section (itself within the file) before n·k is trusted: a
        // hostile k would overflow the product.
        guard k <= (nb.count - 4) / 8, n == 0 || k <= (nb.count - 4) / 8 / max(n, 1), nb.count == 4 + n * k * 8 else {
            throw .inconsistent("neighbours holds \(nb.count) bytes, expected \(n)x\(k) pairs")
        }
        let nbIndices = UnsafeBufferPointer(start: (nb.baseAddress! + 4).assumingMemoryBound(to: Int32.self), count: n * k)
        for index in nbIndices where index < -1 || index >= Int32(n) { throw .inconsistent("a neighbour index is outside the item table") }
        let nbScores = try floats(.neighbours, nb, from: 4 + n * k * 4, count: n * k)
        let neighbours = NeighbourLists(perItem: k, indices: PinnedArray(mapped: nbIndices.baseAddress!, count: n * k, owner: mapping),
                                        scores: PinnedArray(mapped: nbScores.baseAddress!, count: n * k, owner: mapping))

        let decoder = JSONDecoder()
        let metadata: ModelMetadata
        do {
            metadata = try decoder.decode(ModelMetadata.self, from: Data(try require(.metadata)))
        } catch let error as SnapshotError {
            throw error
        } catch {
            throw .inconsistent("metadata is not valid JSON: \(error)")
        }
        var attributes: [String: ItemAttributes] = [:]
        if let a = sections[.itemAttributes] {
            attributes = (try? decoder.decode([String: ItemAttributes].self, from: Data(a))) ?? [:]
        }
        var model = Model(kind: kind, version: version, createdAt: createdAt, items: items, encoder: encoder, popularity: popularity,
                          neighbours: neighbours, metadata: metadata, attributes: attributes)
        if let x = sections[.annIndex] {
            model.index = try Self.readIndex(x, items: n, dimensions: d, owner: mapping) { (offset, count) throws(SnapshotError) in
                try floats(.annIndex, x, from: offset, count: count)
            }
        }
        return model
    }

    /// The ann-index section: its shapes, every member an item exactly once and ascending
    /// within its list, unit centroids, a probe count within the lists.
    static func readIndex(_ bytes: UnsafeRawBufferPointer, items n: Int, dimensions d: Int, owner: Mapping,
                          floats: (Int, Int) throws(SnapshotError) -> UnsafeBufferPointer<Float>) throws(SnapshotError) -> ItemIndex {
        let r = ByteReader(base: bytes.baseAddress!, count: bytes.count)
        guard bytes.count >= 32 else { throw .inconsistent("ann-index section too short") }
        guard r.u32(0) == 1 else { throw .inconsistent("ann-index kind \(r.u32(0)) is not one this build knows (1 inverted lists)") }
        let lists = Int(r.u32(4)), probes = Int(r.u32(12)), sample = Int(r.u32(24))
        guard Int(r.u32(8)) == d else { throw .inconsistent("ann-index is for dimension \(r.u32(8)), the table has \(d)") }
        guard n > 0, lists >= 1, lists <= n, (1...lists).contains(probes) else {
            throw .inconsistent("ann-index has \(lists) lists and \(probes) probes for \(n) items")
        }
        let centroidFloats = lists * (d + 1), listsStart = 32 + centroidFloats * 4, membersStart = listsStart + (lists + 1) * 4
        guard bytes.count == membersStart + n * 4 else { throw .inconsistent("ann-index holds \(bytes.count) bytes, its shapes need \(membersStart + n * 4)") }
        let header = try floats(16, 2)
        let maxNorm = header[0], recall = header[1]
        guard maxNorm > 0, (0...1).contains(recall) else { throw .inconsistent("ann-index needs a largest norm > 0 and a recall within 0...1") }
        let centroids = try floats(32, centroidFloats)
        for j in 0..<lists {
            let norm = dot(centroids.baseAddress! + j * (d + 1), centroids.baseAddress! + j * (d + 1), d + 1)
            guard abs(norm - 1) < 1e-3 else { throw .inconsistent("ann-index centroid \(j) is not a unit vector") }
        }
        let offsets = UnsafeBufferPointer(start: (bytes.baseAddress! + listsStart).assumingMemoryBound(to: UInt32.self), count: lists + 1)
        let members = UnsafeBufferPointer(start: (bytes.baseAddress! + membersStart).assumingMemoryBound(to: UInt32.self), count: n)
        guard offsets[0] == 0, offsets[lists] == UInt32(n) else { throw .inconsistent("ann-index list offsets do not span the \(n) items") }
        var seen = [Bool](repeating: false, count: n)
        for j in 0..<lists {
            guard offsets[j] <= offsets[j + 1] else { throw .inconsistent("ann-index list offsets are not ascending") }
            var previous: UInt32? = nil
            for k in Int(offsets[j])..<Int(offsets[j + 1]) {
                let m = members[k]
                guard Int(m) < n, !seen[Int(m)] else { throw .inconsistent("ann-index member \(m) is outside the table or listed twice") }
                guard previous.map({ $0 < m }) ?? true else { throw .inconsistent("ann-index list \(j) is not ascending") }
                seen[Int(m)] = true
                previous = m
            }
        }
        return ItemIndex(lists: lists, dimensions: d, maxNorm: maxNorm, probes: probes, recall: recall, sampleQueries: sample,
                         centroids: PinnedArray(mapped: centroids.baseAddress!, count: centroidFloats, owner: owner),
                         offsets: PinnedArray(mapped: offsets.baseAddress!, count: lists + 1, owner: owner),
                         members: PinnedArray(mapped: members.baseAddress!, count: n, owner: owner))
    }

    static func readTower(_ bytes: UnsafeRawBufferPointer, items n: Int, dimensions d: Int, owner: Mapping) throws(SnapshotError) -> Tower {
        let r = ByteReader(base: bytes.baseAddress!, count: bytes.count)
        guard bytes.count >= 4 else { throw .inconsistent("tower section too short") }
        let headerLength = Int(r.u32(0))
        guard 4 + headerLength <= bytes.count else { throw .inconsistent("tower header runs past the section") }
        let header: TowerHeader
        do {
            header = try JSONDecoder().decode(TowerHeader.self, from: Data(UnsafeRawBufferPointer(rebasing: bytes[4..<(4 + headerLength)])))
        } catch {
            throw .inconsistent("tower header is not valid JSON: \(error)")
        }
        guard header.items == n, header.inputDimensions > 0, header.inputDimensions <= 4096, header.layers.last == d,
              header.layers.allSatisfy({ $0 > 0 && $0 <= 4096 }), header.layers.count <= 16,
              header.features.allSatisfy({ $0.dimensions > 0 && $0.dimensions <= 4096 && ($0.kind == .categorical || $0.dimensions == 1) }) else {
            throw .inconsistent("tower shapes do not fit \(n) items of dimension \(d)")
        }
        let layout = TowerLayout(items: n, inputDimensions: header.inputDimensions, hidden: Array(header.layers.dropLast()), outputDimensions: d, features: header.features)
        let start = (4 + headerLength + 3) / 4 * 4
        guard start + (layout.count + n) * 4 == bytes.count else {
            throw .inconsistent("tower section holds \(bytes.count) bytes, its shapes need \(start + (layout.count + n) * 4)")
        }
        let floats = UnsafeBufferPointer(start: (bytes.baseAddress! + start).assumingMemoryBound(to: Float.self), count: layout.count + n)
        for v in floats where !v.isFinite { throw .nonFinite(section: SnapshotFormat.Section.tower.description) }
        return Tower(layout: layout, parameters: PinnedArray(mapped: floats.baseAddress!, count: layout.count, owner: owner),
                     itemBias: PinnedArray(mapped: floats.baseAddress! + layout.count, count: n, owner: owner))
    }
}
