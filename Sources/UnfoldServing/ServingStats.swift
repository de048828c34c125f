import UnfoldMetrics

/// What one model name's answers were, counted lock-free on the request path (relaxed
/// atomics on an object the request already holds). The store hands the same object to every
/// version of a name, so the counts are a name's, across swaps.
public final class ServingStats: Sendable {
    /// Answers by source: encoded by the model, or the popularity fallback.
    public let fromModel = Counter()
    public let fromPopular = Counter()
    /// Posted ids the model did not know.
    public let unknownItems = Counter()
    /// Queries whose fold-in could not be solved (answered by popularity).
    public let foldInFailures = Counter()
    /// Seconds to answer a recommend query, whatever the source.
    public let recommendSeconds = Histogram.seconds()
    /// Seconds to encode a query, and to retrieve and filter its items.
    public let encodeSeconds = Histogram.seconds()
    public let retrievalSeconds = Histogram.seconds()
    /// Rows the exact rescan of the bfloat16 scan scored.
    public let candidatesRescored = Counter()

    public init() {}
}
