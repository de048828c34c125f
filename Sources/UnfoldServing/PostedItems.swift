import UnfoldModels

/// The posted items resolved against a served model: the bag it knows, and the ids it does not.
public struct PostedItems: Sendable {
    public var bag: ItemBag
    public var unknown: [String] = []

    public init(capacity: Int = 0) { bag = ItemBag(capacity: capacity) }

    public init(bag: ItemBag) { self.bag = bag }
}
