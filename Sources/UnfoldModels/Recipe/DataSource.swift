/// Where a training run reads its interactions and what it adds to them.
public struct DataSource: Sendable, Equatable, Codable {
    /// Training interactions (TSV, CSV or JSON Lines, optionally gzip): a path or an
    /// http(s)/file URL.
    public var path: String
    /// Held-out interactions: their metrics go into the snapshot metadata.
    public var test: String?
    /// Items file with titles and categories (TSV with a header, or RecBole `.item`).
    public var items: String?
    /// An interaction log directory (`POST /v1/interactions`) whose records are added.
    public var log: String?
    /// Planted groups (`unfold generate --groups-out`): the folding rate goes into the metadata.
    public var groups: String?
    /// Count bad lines instead of stopping.
    public var skipBadLines: Bool
    /// Without a test file: hold out this fraction of the training interactions for the
    /// evaluation (per user, the latest by time when there are timestamps; else at random),
    /// so even a model trained on the log alone gets held-out metrics and a promotion gate.
    public var holdout: Double?
    /// The erased-users file (`DELETE /v1/users/{id}`): those users' records leave every
    /// source of the run (of the log, those written before the erasure).
    public var erased: String?

    public init(path: String, test: String? = nil, items: String? = nil, log: String? = nil, groups: String? = nil, skipBadLines: Bool = false,
                holdout: Double? = nil, erased: String? = nil) {
        self.path = path
        self.test = test
        self.items = items
        self.log = log
        self.groups = groups
        self.skipBadLines = skipBadLines
        self.holdout = holdout
        self.erased = erased
    }

    /// The fractions a hold-out may take.
    public static let holdoutRange = 0.01...0.5

    enum CodingKeys: String, CodingKey {
        case path, test, items, log, groups, holdout, erased
        case skipBadLines = "skip_bad_lines"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        test = try c.decodeIfPresent(String.self, forKey: .test)
        items = try c.decodeIfPresent(String.self, forKey: .items)
        log = try c.decodeIfPresent(String.self, forKey: .log)
        groups = try c.decodeIfPresent(String.self, forKey: .groups)
        skipBadLines = try c.decodeIfPresent(Bool.self, forKey: .skipBadLines) ?? false
        holdout = try c.decodeIfPresent(Double.self, forKey: .holdout)
        erased = try c.decodeIfPresent(String.self, forKey: .erased)
    }
}
