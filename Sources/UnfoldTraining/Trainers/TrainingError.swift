import UnfoldData
import UnfoldMath
import UnfoldModels

/// A training run that cannot go on; the message says why.
public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
