import UnfoldMath
import UnfoldModels

/// A model ready to answer queries: the `Model` plus what serving builds once at load —
/// the id index, the items' response text, the popularity order, the category index, the
/// table re-laid for the scan, and fold-in's solved items.
public final class ServedModel: Sendable {
    public let name: String
    public let model: Model
    public let ids: ItemIDIndex
    /// Item indices by descending popularity: the fallback for an empty query.
    public let popularityOrder: [Int32]
    /// Category → the item indices in it.
    public let categoryMembers: [String: Set<Int32>]
    public let responseText: ItemResponseText
    /// The item table re-laid for the scan (bfloat16 for large tables), whose `topK`
    /// rescans the few candidates exactly from the model's table. Nil when the approximate
    /// index serves (its exact scans, for `"exact": true`, read the Float32 table directly
    /// rather than keep a second copy of a large table).
    public let scanTable: BlockedTable?
    /// The approximate index, when the model has one and at least `annMinItems` items.
    public let index: ItemIndex?
    /// Catalogues from this size on are served by their approximate index (when they have one).
    public static let defaultANNMinItems = 100_000
    /// Concurrent unfiltered scans of `scanTable`, served by shared passes (nil with `scanTable`).
    public let scanBatcher: ScanBatcher?
    /// For fold-in models of up to 16M floats: the rows G⁻¹ v_i (`FoldIn.solvedItems`), so a
    /// query with few items reads the Woodbury terms instead of computing them.
    public let solvedItems: [Float]?
    /// The name's serving counts (shared by its versions).
    public let stats: ServingStats

    public init(name: String, model: Model, stats: ServingStats = ServingStats(), annMinItems: Int = ServedModel.defaultANNMinItems) {
        self.name = name
        self.model = model
        self.stats = stats
        let ids = model.items.ids
        self.ids = ItemIDIndex(ids: ids)
        let popularity = model.popularity
        self.popularityOrder = (0..<Int32(model.itemCount)).sorted { popularity[Int($0)] > popularity[Int($1)] || (popularity[Int($0)] == popularity[Int($1)] && $0 < $1) }
        var members: [String: Set<Int32>] = [:]
        var titles: [String?] = []
        titles.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() {
            let attributes = model.attributes[id]
            titles.append(attributes?.title)
            for c in attributes?.categories ?? [] { members[c, default: []].insert(Int32(i)) }
        }
        self.categoryMembers = members
        self.responseText = ItemResponseText(ids: ids, titles: titles)
        // An index serves only models whose score is q·v alone (no per-item bias).
        self.index = model.itemCount >= annMinItems && model.encoder.itemBias == nil ? model.index : nil
        self.scanTable = index == nil ? BlockedTable(model.items.vectors.base, rows: model.itemCount, cols: model.dimensions) : nil
        self.scanBatcher = scanTable.map { ScanBatcher(table: $0, rows: model.items.vectors.base, bias: model.encoder.itemBias?.base) }
        if case .foldIn(let foldIn) = model.encoder, foldIn.solvesItems(rows: model.itemCount) {
            self.solvedItems = foldIn.solvedItems(model.items.vectors.base, rows: model.itemCount, threads: defaultThreadCount)
        } else {
            self.solvedItems = nil
        }
    }

    public var version: UInt64 { model.version }
    public var itemCount: Int { model.itemCount }
    public var dimensions: Int { model.dimensions }
    public var metadata: ModelMetadata { model.metadata }
    public func id(_ index: Int) -> String { model.items.ids[index] }
    public func index(of id: String) -> Int? { ids.index(of: id) }

    /// Posted (id, weight) pairs against this model's ids.
    public func resolve<S: Sequence<(item: String, weight: Float)>>(_ interactions: S) -> PostedItems {
        var posted = PostedItems(capacity: interactions.underestimatedCount)
        for (item, weight) in interactions {
            if let index = index(of: item) { posted.bag.add(Int32(index), weight: weight) } else { posted.unknown.append(item) }
        }
        return posted
    }
}
