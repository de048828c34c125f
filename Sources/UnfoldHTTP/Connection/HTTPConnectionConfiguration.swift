/// Limits and deadlines of one connection. Times are in nanoseconds of a monotonic clock.
public struct HTTPConnectionConfiguration: Sendable, Equatable {
    public var parserLimits: HTTPParserLimits
    /// From the first byte of a request (or from accept, for the first one) to its complete head.
    public var headerTimeout: UInt64
    /// The longest pause between two pieces of a body.
    public var bodyTimeout: UInt64
    /// How long a keep-alive connection may sit between requests.
    public var idleTimeout: UInt64
    /// The longest a client may leave a response unread before the connection is dropped.
    public var writeTimeout: UInt64
    /// Pipelined bytes buffered while a request is in flight before reading pauses.
    public var maxBufferedInputBytes: Int

    public init(
        parserLimits: HTTPParserLimits = HTTPParserLimits(),
        headerTimeout: UInt64 = 10_000_000_000,
        bodyTimeout: UInt64 = 30_000_000_000,
        idleTimeout: UInt64 = 60_000_000_000,
        writeTimeout: UInt64 = 30_000_000_000,
        maxBufferedInputBytes: Int = 64 * 1024
    ) {
        self.parserLimits = parserLimits
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxBufferedInputBytes = maxBufferedInputBytes
    }
}
