/// External string ids ↔ dense indices 0..<count, in order of first appearance.
public struct IDMap: Sendable, Equatable {
    public private(set) var ids: [String] = []
    private var indexByID: [String: Int32] = [:]

    public init() {}

    public init(_ ids: [String]) {
        for id in ids { _ = intern(id) }
    }

    public var count: Int { ids.count }

    /// The index of `id`, adding it if new.
    @discardableResult
    public mutating func intern(_ id: String) -> Int32 {
        if let index = indexByID[id] { return index }
        let index = Int32(ids.count)
        ids.append(id)
        indexByID[id] = index
        return index
    }

    public func index(of id: String) -> Int32? { indexByID[id] }

    public subscript(index: Int32) -> String { ids[Int(index)] }
}
