import UnfoldModels

/// The answer: items best first with their exact scores, and where they came from.
public struct Recommendation: Sendable {
    public enum Source: String, Sendable { case model, popular }
    public var source: Source
    public var items: [(index: Int, score: Float)]
    public var unknownItems: [String]
}
