#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed socket call. `EAGAIN`/`EWOULDBLOCK` are folded into `blocked`.
public enum SocketError: Error, Equatable, CustomStringConvertible {
    case blocked
    case failed(operation: String, errno: Int32)

    static func fromErrno(_ operation: String) -> SocketError {
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK { return .blocked }
        return .failed(operation: operation, errno: code)
    }

    public var description: String {
        switch self {
        case .blocked: return "operation would block"
        case .failed(let op, let code): return "\(op) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
