/// One epoch of training (one alternating iteration for WALS), the same record for every
/// trainer: what the progress reports show and what the metadata keeps.
public struct EpochRecord: Sendable, Codable, Equatable {
    public var epoch: Int
    public var loss: Double
    public var seconds: Double
    public var stableRankItems: Double
    public var stableRankUsers: Double?
    /// The held-out NDCG@k after the epoch through the serving encoder (`unfold train
    /// --eval-every-epoch`), and with the trained user vectors (mf-sgd).
    public var ndcg: Double?
    public var trainedUsersNDCG: Double?
    /// The gravity G(U, V), the mean squared score over all pairs, after the epoch (mf-sgd).
    public var gravity: Double?

    public init(epoch: Int, loss: Double, seconds: Double, stableRankItems: Double, stableRankUsers: Double?, ndcg: Double? = nil, trainedUsersNDCG: Double? = nil,
                gravity: Double? = nil) {
        self.epoch = epoch
        self.loss = loss
        self.seconds = seconds
        self.stableRankItems = stableRankItems
        self.stableRankUsers = stableRankUsers
        self.ndcg = ndcg
        self.trainedUsersNDCG = trainedUsersNDCG
        self.gravity = gravity
    }

    enum CodingKeys: String, CodingKey {
        case epoch, loss, seconds, ndcg, gravity
        case stableRankItems = "stable_rank_items"
        case stableRankUsers = "stable_rank_users"
        case trainedUsersNDCG = "trained_users_ndcg"
    }
}
