import Foundation

/// Appends bytes to a descriptor and `fdatasync`s it: what a journal line needs before it is
/// acknowledged. Returns nil, or what failed (with the system's reason).
public func appendDurably(_ bytes: [UInt8], to fd: Int32) -> String? {
    writeAll(bytes, to: fd) ?? syncData(fd)
}

/// Writes every byte (a short write continues, a signal retries); nil, or what failed.
public func writeAll(_ bytes: [UInt8], to fd: Int32) -> String? {
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 {
            if errno == EINTR { continue }
            return "write failed: \(String(cString: strerror(errno)))"
        }
        written += n
    }
    return nil
}

/// `fdatasync`, retried when a signal interrupts it (the sync must still happen); nil, or
/// what failed.
public func syncData(_ fd: Int32) -> String? {
    while fdatasync(fd) != 0 {
        if errno == EINTR { continue }
        return "fdatasync failed: \(String(cString: strerror(errno)))"
    }
    return nil
}
