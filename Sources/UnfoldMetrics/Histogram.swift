import Synchronization

/// Observations counted into fixed buckets (upper bounds, Prometheus style), lock-free: a
/// binary search for the bucket, two relaxed atomic adds. Values are recorded in integer
/// units (`unit` per 1: nanoseconds for a `_seconds` histogram) so the sum stays exact.
public final class Histogram: Sendable {
    /// Upper bounds in the histogram's base unit (seconds, bytes, …), ascending; +Inf is implied.
    public let bounds: [Double]
    /// How many integer units make one base unit (1e9 for seconds observed in nanoseconds).
    public let unit: Double
    private let boundsInUnits: [UInt64]
    private let buckets: [Cell]
    private let sum = Atomic<UInt64>(0)

    final class Cell: Sendable {
        let value = Atomic<UInt64>(0)
    }

    public init(bounds: [Double], unit: Double) {
        self.bounds = bounds
        self.unit = unit
        boundsInUnits = bounds.map { UInt64(($0 * unit).rounded()) }
        buckets = (0...bounds.count).map { _ in Cell() }
    }

    /// Seconds, observed in nanoseconds: 100 µs … 10 s.
    public static func seconds(_ bounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10]) -> Histogram {
        Histogram(bounds: bounds, unit: 1e9)
    }

    /// Observes `units` (e.g. nanoseconds).
    @inline(__always)
    public func observe(units: UInt64) {
        var lo = 0, hi = boundsInUnits.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if units <= boundsInUnits[mid] { hi = mid } else { lo = mid + 1 }
        }
        buckets[lo].value.wrappingAdd(1, ordering: .relaxed)
        sum.wrappingAdd(units, ordering: .relaxed)
    }

    /// (upper bound, cumulative count) per bucket, +Inf last; the sum in base units; the count.
    public func snapshot() -> (buckets: [(bound: Double, cumulative: UInt64)], sum: Double, count: UInt64) {
        var running: UInt64 = 0
        var out: [(bound: Double, cumulative: UInt64)] = []
        for (k, cell) in buckets.enumerated() {
            running &+= cell.value.load(ordering: .relaxed)
            out.append((k < bounds.count ? bounds[k] : .infinity, running))
        }
        return (out, Double(sum.load(ordering: .relaxed)) / unit, running)
    }
}
