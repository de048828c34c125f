/// What a person sees of an item, carried in the snapshot so a replica needs no other file.
public struct ItemAttributes: Sendable, Codable, Equatable {
    public var title: String?
    public var categories: [String]
    public init(title: String?, categories: [String]) {
        self.title = title
        self.categories = categories
    }
}
