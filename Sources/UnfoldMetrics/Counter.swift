import Synchronization

/// A monotonically increasing count, updated lock-free (a relaxed atomic add): safe to bump on
/// the request path from every thread.
public final class Counter: Sendable {
    private let value = Atomic<UInt64>(0)

    public init() {}

    @inline(__always)
    public func increment(by amount: UInt64 = 1) {
        value.wrappingAdd(amount, ordering: .relaxed)
    }

    public var count: UInt64 { value.load(ordering: .relaxed) }
}

/// A value that goes up and down (in-flight requests, open connections), lock-free.
public final class Gauge: Sendable {
    private let value = Atomic<Int64>(0)

    public init() {}

    @inline(__always)
    public func add(_ amount: Int64) { value.wrappingAdd(amount, ordering: .relaxed) }

    public func set(_ amount: Int64) { value.store(amount, ordering: .relaxed) }

    public var current: Int64 { value.load(ordering: .relaxed) }
}
