import UnfoldMath
import UnfoldModels
import UnfoldSnapshot

/// A snapshot ready to answer queries: the mapped file plus the lookups built once at load.
public final class ServedModel: Sendable {
    public let name: String
    public let snapshot: Snapshot
    public let indexByID: [String: Int32]
    /// Item indices by descending popularity: the fallback for an empty query.
    public let popularityOrder: [Int32]
    /// Category → the item indices in it.
    public let categoryMembers: [String: Set<Int32>]
    /// Categories of each item (empty when unknown), for filtering.
    public let itemCategories: [[String]]
    public let titles: [String?]
    /// The item table re-laid for the scan in bfloat16 (half the size of the table), whose
    /// `topK` rescans the few candidates exactly from the mapped table.
    public let scanTable: BlockedTable
    /// For fold-in models of up to 16M floats: the rows G⁻¹ v_i (`FoldIn.solvedItems`), so a
    /// query with few items reads the Woodbury terms instead of computing them.
    public let solvedItems: [Float]?
    /// What the service prepared for this model at load (e.g. its items' response text),
    /// from the store's `prepare` hook; serving itself never looks at it.
    public let prepared: (any Sendable)?

    /// `prepare` runs once, at load, on the snapshot and the items' titles.
    public init(name: String, snapshot: Snapshot, prepare: (@Sendable (Snapshot, [String?]) -> any Sendable)? = nil) {
        self.name = name
        self.snapshot = snapshot
        var index: [String: Int32] = [:]
        index.reserveCapacity(snapshot.itemCount)
        for (i, id) in snapshot.itemIDs.enumerated() { index[id] = Int32(i) }
        self.indexByID = index
        let popularity = snapshot.popularity
        self.popularityOrder = (0..<Int32(snapshot.itemCount)).sorted { popularity[Int($0)] > popularity[Int($1)] || (popularity[Int($0)] == popularity[Int($1)] && $0 < $1) }
        var members: [String: Set<Int32>] = [:]
        var categories: [[String]] = []
        var titles: [String?] = []
        for (i, id) in snapshot.itemIDs.enumerated() {
            let attributes = snapshot.attributes[id]
            categories.append(attributes?.categories ?? [])
            titles.append(attributes?.title)
            for c in attributes?.categories ?? [] { members[c, default: []].insert(Int32(i)) }
        }
        self.categoryMembers = members
        self.itemCategories = categories
        self.titles = titles
        self.scanTable = BlockedTable(snapshot.itemTable, rows: snapshot.itemCount, cols: snapshot.dimensions)
        if let foldIn = snapshot.foldIn, foldIn.solvesItems(rows: snapshot.itemCount) {
            self.solvedItems = foldIn.solvedItems(snapshot.itemTable, rows: snapshot.itemCount, threads: defaultThreadCount)
        } else {
            self.solvedItems = nil
        }
        self.prepared = prepare?(snapshot, titles)
    }

    public var version: UInt64 { snapshot.version }
    public var itemCount: Int { snapshot.itemCount }
    public var dimensions: Int { snapshot.dimensions }
    public func id(_ index: Int) -> String { snapshot.itemIDs[index] }
}
