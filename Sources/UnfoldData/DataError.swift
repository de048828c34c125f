/// A data file that cannot be used, with what a person needs to fix it.
public enum DataError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badLine(path: String, line: Int, reason: String)
    case badHeader(path: String, reason: String)
    case empty(path: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .badLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .badHeader(let path, let reason): return "\(path):1: \(reason)"
        case .empty(let path): return "\(path) holds no interactions"
        case .invalidArgument(let reason): return reason
        }
    }
}
