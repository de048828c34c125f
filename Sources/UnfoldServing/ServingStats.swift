import Dispatch
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

    /// Off (`metrics: off`): nothing is counted and the clock is not read.
    public let enabled: Bool

    public init(enabled: Bool = true) { self.enabled = enabled }

    /// Now in nanoseconds, or 0 when counting is off.
    @inline(__always) func clock() -> UInt64 { enabled ? DispatchTime.now().uptimeNanoseconds : 0 }

    func postedUnknown(_ count: Int) {
        if enabled && count > 0 { unknownItems.increment(by: UInt64(count)) }
    }

    func answeredByPopularity(since start: UInt64) {
        guard enabled else { return }
        fromPopular.increment()
        recommendSeconds.observe(units: clock() - start)
    }

    func foldInFailed() { if enabled { foldInFailures.increment() } }

    func answeredByModel(start: UInt64, encodeStart: UInt64, encoded: UInt64, rescored: Int) {
        guard enabled else { return }
        let done = clock()
        encodeSeconds.observe(units: encoded - encodeStart)
        retrievalSeconds.observe(units: done - encoded)
        recommendSeconds.observe(units: done - start)
        if rescored > 0 { candidatesRescored.increment(by: UInt64(rescored)) }
        fromModel.increment()
    }
}
