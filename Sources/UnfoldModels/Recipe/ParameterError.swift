/// Why a training spec is refused; the message names the parameter and what it accepts.
public struct ParameterError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
