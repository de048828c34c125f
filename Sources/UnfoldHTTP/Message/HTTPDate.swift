import Foundation

/// The IMF-fixdate for the `Date` field (RFC 9110 §5.6.7), formatted once per second.
public enum HTTPDate {
    private struct Cache: @unchecked Sendable {
        var second: Int = -1
        var text: String = ""
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache = Cache()

    public static func now() -> String {
        var seconds = time(nil)
        lock.lock()
        defer { lock.unlock() }
        if cache.second != seconds {
            var parts = tm()
            gmtime_r(&seconds, &parts)
            var buffer = [Int8](repeating: 0, count: 64)
            let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            cache.text = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            cache.second = seconds
        }
        return cache.text
    }
}
