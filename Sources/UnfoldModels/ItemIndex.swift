import UnfoldMath

/// An approximate maximum-inner-product index over an item table: inverted lists over the
/// norm-augmented items (docs/algorithms.md, "Approximate retrieval").
///
/// With M the largest item norm, item i is placed by its augmented direction
/// a_i = [v_i, √(M² − ‖v_i‖²)] / M, a unit vector in d + 1 dimensions, and a query q by
/// [q, 0]: then q'·a_i = q·v_i / M for every item, so the items with the largest inner
/// products are the nearest augmented directions, whatever their norms (a popular, long item
/// is not lost behind a short one). Spherical k-means splits the augmented items into
/// `lists` lists around unit centroids; a query scores the centroids (its first d
/// components against q), takes the `probes` best lists and scores their members exactly
/// against the item table. Returned scores are exact inner products of the returned items.
public struct ItemIndex: Sendable {
    /// Lists (k-means clusters).
    public let lists: Int
    public let dimensions: Int
    /// M, the largest item norm.
    public let maxNorm: Float
    /// Lists a query probes by default: the fewest that met the build's recall target.
    public let probes: Int
    /// Recall@10 against the exact scan at `probes`, measured at build on `sampleQueries`
    /// sample queries.
    public let recall: Float
    public let sampleQueries: Int
    /// lists × (d + 1), row-major: the unit centroids of the augmented items.
    public let centroids: PinnedArray<Float>
    /// lists + 1 offsets into `members`: list j is members[offsets[j] ..< offsets[j + 1]].
    public let offsets: PinnedArray<UInt32>
    /// Every item index once, grouped by list, ascending within a list.
    public let members: PinnedArray<UInt32>

    public init(lists: Int, dimensions: Int, maxNorm: Float, probes: Int, recall: Float, sampleQueries: Int,
                centroids: PinnedArray<Float>, offsets: PinnedArray<UInt32>, members: PinnedArray<UInt32>) {
        precondition(centroids.count == lists * (dimensions + 1) && offsets.count == lists + 1, "index shapes do not match")
        self.lists = lists
        self.dimensions = dimensions
        self.maxNorm = maxNorm
        self.probes = probes
        self.recall = recall
        self.sampleQueries = sampleQueries
        self.centroids = centroids
        self.offsets = offsets
        self.members = members
    }

    /// The items of list j.
    @inlinable
    public func list(_ j: Int) -> UnsafeBufferPointer<UInt32> {
        let start = Int(offsets[j])
        return UnsafeBufferPointer(start: members.base + start, count: Int(offsets[j + 1]) - start)
    }

    /// The same index probing `probes` lists by default (and the recall measured there).
    public func with(probes: Int, recall: Float) -> ItemIndex {
        ItemIndex(lists: lists, dimensions: dimensions, maxNorm: maxNorm, probes: probes, recall: recall, sampleQueries: sampleQueries,
                  centroids: centroids, offsets: offsets, members: members)
    }
}

extension ItemIndex: Equatable {
    public static func == (a: ItemIndex, b: ItemIndex) -> Bool {
        a.lists == b.lists && a.dimensions == b.dimensions && a.maxNorm == b.maxNorm && a.probes == b.probes && a.recall == b.recall
            && a.sampleQueries == b.sampleQueries && a.centroids.buffer.elementsEqual(b.centroids.buffer)
            && a.offsets.buffer.elementsEqual(b.offsets.buffer) && a.members.buffer.elementsEqual(b.members.buffer)
    }
}
