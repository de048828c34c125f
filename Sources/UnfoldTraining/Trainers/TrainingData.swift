import UnfoldData
import UnfoldMath
import UnfoldModels

/// What training learns from: the interactions with their id spaces, and the users × items
/// matrix of summed weights.
public struct TrainingData: Sendable {
    public let interactions: Interactions
    public let matrix: CSRMatrix

    public init(_ interactions: Interactions) {
        self.interactions = interactions
        self.matrix = interactions.userItemMatrix()
    }

    public var itemIDs: [String] { interactions.items.ids }
    public var itemCount: Int { matrix.cols }
}
