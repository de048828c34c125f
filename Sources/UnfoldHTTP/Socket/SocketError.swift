#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed socket or event-queue call. `EAGAIN`/`EWOULDBLOCK` are folded into `blocked`.
public enum SocketError: Error, Equatable, CustomStringConvertible {
    case blocked
    case failed(operation: String, errno: Int32)

    static func fromErrno(_ operation: String) -> SocketError {
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK { return .blocked }
        return .failed(operation: operation, errno: code)
    }

    /// This error, with a second failure that followed it (a close after a failed call) named in it.
    func alongside(_ other: SocketError) -> SocketError {
        guard case .failed(let operation, let code) = self else { return other }
        return .failed(operation: "\(operation) (then \(other))", errno: code)
    }

    /// The peer went away (reset, broken pipe): routine for a server, not a fault of it.
    public var isPeerGone: Bool {
        guard case .failed(_, let code) = self else { return false }
        return code == ECONNRESET || code == EPIPE || code == ETIMEDOUT || code == ENOTCONN
    }

    public var description: String {
        switch self {
        case .blocked: return "operation would block"
        case .failed(let op, let code): return "\(op) failed: \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}
