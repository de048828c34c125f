/// Read-only elements at an address that never moves: memory this value owns (copied in
/// once), or a region of a memory-mapped file whose owner keeps the mapping alive. Model
/// tables are one or the other — built by a trainer, or mapped from a snapshot — and the
/// code that reads them takes a pointer either way.
public struct PinnedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    // Safe to share: the memory is never written after `init`, and `owner` keeps it alive.
    public let base: UnsafePointer<Element>
    public let count: Int
    private let owner: AnyObject

    /// Copies `elements` into memory this array owns.
    public init(_ elements: [Element]) {
        let storage = OwnedStorage<Element>(count: elements.count)
        _ = UnsafeMutableBufferPointer(start: storage.pointer, count: elements.count).initialize(from: elements)
        self.base = UnsafePointer(storage.pointer)
        self.count = elements.count
        self.owner = storage
    }

    /// Elements somebody else's memory holds (e.g. a mapped file); `owner` must keep them
    /// alive and unchanged.
    public init(mapped base: UnsafePointer<Element>, count: Int, owner: AnyObject & Sendable) {
        self.base = base
        self.count = count
        self.owner = owner
    }

    public static var empty: PinnedArray { PinnedArray([]) }

    @inlinable
    public subscript(i: Int) -> Element { base[i] }

    public var buffer: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: count) }

    public var array: [Element] { Array(buffer) }
}

/// Memory a `PinnedArray` owns; freed with the last copy of the array.
private final class OwnedStorage<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    init(count: Int) { pointer = .allocate(capacity: max(count, 1)) }
    deinit { pointer.deallocate() }
}
