import UnfoldData
import UnfoldMath
import UnfoldModels

/// What training learns from: the interactions with their id spaces, and the users × items
/// matrix of summed weights.
public struct TrainingData: Sendable {
    public let interactions: Interactions
    public let matrix: CSRMatrix
    /// After `withoutDislikes`: the (user, item) pairs whose weights summed below zero, as a
    /// users × items matrix of the same id spaces, for trainers that take them as explicit
    /// negatives (mf-sgd); nil otherwise.
    public private(set) var dislikes: CSRMatrix?

    public init(_ interactions: Interactions) {
        self.interactions = interactions
        self.matrix = interactions.userItemMatrix()
    }

    /// Whether some record is a dislike (a negative weight, from an event type such as
    /// `dislike: -1`).
    public var hasDislikes: Bool { interactions.weights.contains { $0 < 0 } }

    /// The data for trainers that learn from positive interactions only (mf-sgd, softmax,
    /// item2vec): the negative records leave, and so does every record of a (user, item)
    /// pair whose weights sum below zero (disliked after all). Id spaces stay whole.
    public var withoutDislikes: TrainingData {
        guard hasDislikes else { return self }
        let source = interactions
        var kept = Interactions(users: source.users, items: source.items, hasTimestamps: source.timestamps != nil)
        var rows: [Int32] = [], cols: [Int32] = [], values: [Float] = []
        for u in 0..<matrix.rows {
            for k in matrix.rowRange(u) where matrix.values[k] < 0 {
                rows.append(Int32(u))
                cols.append(matrix.indices[k])
                values.append(matrix.values[k])
            }
        }
        for k in 0..<source.count where source.weights[k] >= 0 {
            let u = Int(source.userIndex[k]), i = source.itemIndex[k]
            let row = matrix.rowRange(u)
            if let cell = matrix.indices[row].firstIndex(of: i), matrix.values[cell] < 0 { continue }
            kept.append(userIndex: source.userIndex[k], itemIndex: i, weight: source.weights[k], timestamp: source.timestamps?[k])
        }
        var data = TrainingData(kept)
        data.dislikes = CSRMatrix(rows: matrix.rows, cols: matrix.cols, rowIndex: rows, colIndex: cols, values: values)
        return data
    }

    public var itemIDs: [String] { interactions.items.ids }
    public var itemCount: Int { matrix.cols }
}

extension ItemBag {
    /// Row u of a users × items matrix as a query, with its entries' recency when the
    /// matrix keeps it; without, the row is a set (no recency).
    public init(row u: Int, of matrix: CSRMatrix) {
        let range = matrix.rowRange(u)
        self.init(distinct: matrix.indices[range], weights: matrix.values[range], latest: matrix.rowLatest(u))
        ordered = matrix.latest != nil
    }
}
