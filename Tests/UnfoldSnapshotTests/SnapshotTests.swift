import XCTest
import UnfoldMath
import UnfoldModels
@testable import UnfoldSnapshot

final class SnapshotTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "unfold-snapshots-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A small softmax tower over `items` items: one categorical and one numeric feature.
    func tower(items: Int, d: Int, poison: Float? = nil) -> Tower {
        let features: [FeatureSpec] = [.categorical("job", values: ["a", "b"], dimensions: 3), .numeric("age", mean: 30, std: 12)]
        let layout = TowerLayout(items: items, inputDimensions: 6, hidden: [5], outputDimensions: d, features: features)
        var rng = SplitMix64(seed: 8)
        var parameters = (0..<layout.count).map { _ in rng.nextGaussian() }
        if let poison { parameters[layout.weights[1] + 3] = poison }
        return Tower(layout: layout, parameters: PinnedArray(parameters), itemBias: PinnedArray((0..<items).map { _ in rng.nextGaussian() }))
    }

    func contents(items: Int = 40, d: Int = 8, softmax: Bool = false) -> Model {
        var c = walsContents(items: items, d: d)
        if softmax {
            c.kind = .softmax
            c.encoder = .tower(tower(items: items, d: d))
        }
        return c
    }

    func walsContents(items: Int, d: Int, vectors: Matrix? = nil) -> Model {
        let table = ItemTable(ids: (0..<items).map { "item-\($0)-é" }, vectors: vectors ?? Matrix.random(rows: items, cols: d, scale: 1, seed: 4))
        var foldIn = FoldIn(items: table.matrix, alpha: 2, unobservedWeight: 0.5, regularization: 0.1)
        foldIn.recencyBoost = 32
        foldIn.recencyHalfLife = 2
        let metadata = ModelMetadata(name: "wals", kind: "wals", version: 17, createdAt: "2026-11-23T00:00:00Z", hyperparameters: ["factors": Double(d)], solver: "cholesky",
                                     data: .init(source: "test", fingerprint: "abc", users: 3, items: items, interactions: 9), evaluation: ["ndcg@10": 0.25])
        return Model(kind: .wals, version: 17, createdAt: 1_700_000_000, items: table, encoder: .foldIn(foldIn), popularity: (0..<items).map { Float($0) },
                     neighbours: NeighbourLists.cosine(table, k: 5), metadata: metadata,
                     attributes: ["item-1-é": ItemAttributes(title: "One", categories: ["a", "b"])])
    }

    func testRoundTrip() throws {
        let original = contents()
        let path = try SnapshotWriter.write(original, name: "wals", to: directory)
        XCTAssertTrue(path.hasSuffix("/wals-17.unfold"))
        let snapshot = try Snapshot.open(path: path)
        let model = snapshot.model
        XCTAssertEqual(model.kind, .wals)
        XCTAssertEqual(model.version, 17)
        XCTAssertEqual(model.items, original.items)
        XCTAssertEqual(model.encoder, original.encoder)
        XCTAssertEqual(model.popularity, original.popularity)
        XCTAssertEqual(model.metadata, original.metadata)
        XCTAssertEqual(model.attributes["item-1-é"]?.title, "One")
        XCTAssertEqual(model.neighbours.of(3).map(\.index), original.neighbours.indices.array[15..<20].map(Int.init))
        XCTAssertEqual(model.items.norms.array, original.items.norms.array)
        // Sections start on 64-byte boundaries.
        let bytes = try SnapshotWriter.encode(original)
        let count = Int(bytes[24])
        for index in 0..<count {
            let entry = 64 + index * 32
            let offset = bytes[(entry + 8)..<(entry + 16)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            XCTAssertEqual(offset % 64, 0)
        }
        // No temporary file is left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["wals-17.unfold"])
    }

    func testTowerRoundTrip() throws {
        let original = contents(softmax: true)
        let snapshot = try Snapshot.open(path: try SnapshotWriter.write(original, name: "softmax", to: directory))
        XCTAssertEqual(snapshot.kind, .softmax)
        XCTAssertEqual(snapshot.model.encoder, original.encoder)
        guard case .tower(let tower) = snapshot.model.encoder else { return XCTFail("a softmax snapshot serves its tower") }
        XCTAssertEqual(tower.features.map(\.name), ["job", "age"])
    }

    func testSoftmaxWithoutATowerAndNonFiniteTowerWeightsAreRejected() throws {
        var c = contents(softmax: true)
        c.encoder = .meanPooling
        XCTAssertThrowsError(try Snapshot.open(path: try SnapshotWriter.write(c, name: "a", to: directory))) {
            XCTAssertEqual($0 as? SnapshotError, .badSection("a softmax snapshot needs a tower section"))
        }
        c = contents(softmax: true)
        c.encoder = .tower(tower(items: 40, d: 8, poison: .infinity))
        XCTAssertThrowsError(try Snapshot.open(path: try SnapshotWriter.write(c, name: "b", to: directory))) {
            XCTAssertEqual($0 as? SnapshotError, .nonFinite(section: "tower"))
        }
        c = contents(softmax: true)
        c.encoder = .tower(tower(items: 39, d: 8))  // a tower for one item fewer than the table
        XCTAssertThrowsError(try Snapshot.open(path: try SnapshotWriter.write(c, name: "c", to: directory))) {
            guard case .inconsistent = $0 as? SnapshotError else { return XCTFail("\($0)") }
        }
    }

    func corrupt(softmax: Bool = false, _ mutate: (inout [UInt8]) -> Void) throws -> SnapshotError? {
        var bytes = try SnapshotWriter.encode(contents(softmax: softmax))
        mutate(&bytes)
        let path = directory + "/corrupt-\(UUID().uuidString).unfold"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Snapshot.open(path: path)
            return nil
        } catch {
            return error
        }
    }

    func testAFlippedByteInEverySectionIsRejected() throws {
        try flippedBytes(softmax: false)
        try flippedBytes(softmax: true)
    }

    func flippedBytes(softmax: Bool) throws {
        let bytes = try SnapshotWriter.encode(contents(softmax: softmax))
        let count = Int(bytes[24])
        for index in 0..<count {
            let entry = 64 + index * 32
            func u64(_ at: Int) -> Int { bytes[at..<(at + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }
            let offset = u64(entry + 8), length = u64(entry + 16)
            let kind = SnapshotFormat.Section(rawValue: UInt32(bytes[entry]))!
            for position in [offset, offset + length / 2, offset + length - 1] {
                let error = try corrupt(softmax: softmax) { $0[position] ^= 0x10 }
                XCTAssertEqual(error, .checksumMismatch(section: kind.description), "byte \(position) of \(kind)")
            }
        }
    }

    func testHeaderCorruptionWrongMagicAndTruncation() throws {
        XCTAssertEqual(try corrupt { $0[0] = UInt8(ascii: "X") }, .badMagic)
        XCTAssertEqual(try corrupt { $0[16] ^= 1 }, .headerChecksum)
        XCTAssertEqual(try corrupt { $0[8] = 9 }, .unsupportedVersion(9))
        if case .truncated = try corrupt({ $0.removeLast(100) }) {} else { XCTFail("truncation not detected") }
        if case .truncated = try corrupt({ $0 = Array($0.prefix(30)) }) {} else { XCTFail("short file not detected") }
        // A flipped byte in the section table moves a section: caught by its CRC or bounds.
        XCTAssertNotNil(try corrupt { $0[64 + 8] ^= 0x40 })
    }

    func testNonFiniteValuesAreRejectedEvenWithAValidChecksum() throws {
        var vectors = Matrix.random(rows: 40, cols: 8, scale: 1, seed: 4)
        vectors.storage[5] = .nan
        let c = walsContents(items: 40, d: 8, vectors: vectors)
        let path = try SnapshotWriter.write(c, name: "bad", to: directory)
        XCTAssertThrowsError(try Snapshot.open(path: path)) { error in
            XCTAssertEqual(error as? SnapshotError, .nonFinite(section: "item-table"))
            XCTAssertEqual((error as? SnapshotError)?.description, "check finite failed: section item-table holds NaN or infinity")
        }
    }

    /// The fold-in-recency section: read back into the encoder, and refused with a half-life
    /// that is not positive.
    func testRecencySection() throws {
        var c = walsContents(items: 40, d: 8)
        guard case .foldIn(var foldIn) = c.encoder else { return XCTFail("wals contents without fold-in") }
        let loaded = try Snapshot.open(path: try SnapshotWriter.write(c, name: "recency", to: directory)).model
        guard case .foldIn(let back) = loaded.encoder else { return XCTFail("no fold-in") }
        XCTAssertEqual(back.recencyBoost, 32)
        XCTAssertEqual(back.recencyHalfLife, 2)
        foldIn.recencyHalfLife = 0
        c.encoder = .foldIn(foldIn)
        XCTAssertThrowsError(try Snapshot.open(path: try SnapshotWriter.write(c, name: "flat", to: directory))) { error in
            XCTAssertEqual(error as? SnapshotError, .inconsistent("fold-in-recency needs κ > 0 and a half-life > 0, got 32.0 and 0.0"))
        }
        foldIn.recencyBoost = 0
        c.encoder = .foldIn(foldIn)
        let without = try Snapshot.open(path: try SnapshotWriter.write(c, name: "none", to: directory)).model
        guard case .foldIn(let plain) = without.encoder else { return XCTFail("no fold-in") }
        XCTAssertEqual(plain.recencyBoost, 0, "no section: no recency")
    }

    /// The fold-in-objective section: ALS-WR reads back (Gram without λ, no inverse), a file
    /// without it is WALS, and an objective this build does not know is refused.
    func testObjectiveSection() throws {
        var c = walsContents(items: 40, d: 8)
        c.encoder = .foldIn(FoldIn(items: c.items.matrix, alpha: 3, unobservedWeight: 1, regularization: 0.2, objective: .alsWR))
        let bytes = try SnapshotWriter.encode(c)
        let path = directory + "/alswr-17.unfold"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let loaded = try Snapshot.open(path: path).model
        XCTAssertEqual(loaded.encoder, c.encoder)
        guard case .foldIn(let back) = loaded.encoder else { return XCTFail("no fold-in") }
        XCTAssertEqual(back.objective, .alsWR)
        XCTAssertTrue(back.inverseGram.isEmpty, "λ·n differs per query: no shared inverse")
        guard case .foldIn(let wals) = try Snapshot.open(path: try SnapshotWriter.write(walsContents(items: 40, d: 8), name: "plain", to: directory)).model.encoder else {
            return XCTFail("no fold-in")
        }
        XCTAssertEqual(wals.objective, .wals)
        // Objective 7 (or 0, WALS, which is never written) with a valid CRC: refused.
        for raw: UInt32 in [7, 0] {
            var edited = bytes
            let count = Int(edited[24])
            for index in 0..<count {
                let entry = 64 + index * 32
                func u64(_ at: Int) -> Int { edited[at..<(at + 8)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) } }
                guard edited[entry] == 11 else { continue }
                let offset = u64(entry + 8)
                for b in 0..<4 { edited[offset + b] = UInt8((raw >> (8 * UInt32(b))) & 0xFF) }
                let crc = SnapshotWriter.crc(edited[offset..<(offset + 4)])
                for b in 0..<4 { edited[entry + 24 + b] = UInt8((crc >> (8 * UInt32(b))) & 0xFF) }
            }
            let bad = directory + "/alswr-bad-\(raw).unfold"
            try Data(edited).write(to: URL(fileURLWithPath: bad))
            XCTAssertThrowsError(try Snapshot.open(path: bad)) { error in
                XCTAssertEqual(error as? SnapshotError, .inconsistent("fold-in-objective \(raw) is not one this build knows (1 als-wr)"))
            }
        }
    }

    /// The ann-index section round-trips, and every inconsistency is refused even with a
    /// valid CRC: a member twice or outside the table, offsets that do not span the items,
    /// a list out of order, a centroid that is not a unit vector, more probes than lists.
    func testIndexSection() throws {
        var c = walsContents(items: 40, d: 8)
        let centroid = [Float](repeating: 1 / Float(9).squareRoot(), count: 9)
        func index(offsets: [UInt32] = [0, 15, 40], members: [UInt32] = (0..<40).map(UInt32.init), centroids: [Float]? = nil, probes: Int = 1) -> ItemIndex {
            ItemIndex(lists: 2, dimensions: 8, maxNorm: 3, probes: probes, recall: 0.98, sampleQueries: 50,
                      centroids: PinnedArray(centroids ?? centroid + centroid), offsets: PinnedArray(offsets), members: PinnedArray(members))
        }
        c.index = index()
        let loaded = try Snapshot.open(path: try SnapshotWriter.write(c, name: "indexed", to: directory)).model
        XCTAssertEqual(loaded.index, c.index)
        XCTAssertNil(try Snapshot.open(path: try SnapshotWriter.write(walsContents(items: 40, d: 8), name: "plain", to: directory)).model.index)
        var twice = (0..<40).map(UInt32.init)
        twice[3] = 2
        var unordered = (0..<40).map(UInt32.init)
        unordered.swapAt(0, 1)
        let cases: [(ItemIndex, String)] = [
            (index(members: twice), "ann-index member 2 is outside the table or listed twice"),
            (index(members: (0..<39).map(UInt32.init) + [40]), "ann-index member 40 is outside the table or listed twice"),
            (index(offsets: [0, 15, 39], members: (0..<40).map(UInt32.init)), "ann-index list offsets do not span the 40 items"),
            (index(members: unordered), "ann-index list 0 is not ascending"),
            (index(centroids: centroid + centroid.map { $0 * 2 }), "ann-index centroid 1 is not a unit vector"),
            (index(probes: 3), "ann-index has 2 lists and 3 probes for 40 items"),
        ]
        for (bad, message) in cases {
            c.index = bad
            let path = try SnapshotWriter.write(c, name: "bad", to: directory)
            XCTAssertThrowsError(try Snapshot.open(path: path), message) { error in
                XCTAssertEqual(error as? SnapshotError, .inconsistent(message))
            }
            try FileManager.default.removeItem(atPath: path)
        }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Snapshot.open(path: directory + "/none.unfold")) { error in
            guard case .unreadable = error as? SnapshotError else { return XCTFail("\(error)") }
        }
    }
}
