/// Everything the HTTP server needs to know to listen and serve.
public struct HTTPServerConfiguration: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    /// The event core that moves the bytes (`event_loop`).
    public var eventBackend: EventBackend
    /// Handlers that run at once (0: one per core).
    public var workerThreads: Int
    /// Event queues that move bytes (0: the backend's choice, `EventBackend.queuesPerCore` per core).
    public var eventLoops: Int
    /// Open connections beyond this are answered 503 and closed.
    public var maxConnections: Int
    /// Requests waiting for a worker beyond this are answered 503.
    public var maxQueuedRequests: Int
    public var connection: HTTPConnectionConfiguration
    /// How often deadlines are checked, in nanoseconds.
    public var tickInterval: UInt64
    /// After a protocol error the server stops writing and drains input this long
    /// before closing, so the client reads the error instead of a reset (RFC 9112 §9.6).
    public var lingerTimeout: UInt64

    public init(
        host: String = "127.0.0.1",
        port: UInt16 = 8080,
        eventBackend: EventBackend = .dispatch,
        workerThreads: Int = 0,
        eventLoops: Int = 0,
        maxConnections: Int = 1024,
        maxQueuedRequests: Int = 4096,
        connection: HTTPConnectionConfiguration = HTTPConnectionConfiguration(),
        tickInterval: UInt64 = 250_000_000,
        lingerTimeout: UInt64 = 2_000_000_000
    ) {
        self.host = host
        self.port = port
        self.eventBackend = eventBackend
        self.workerThreads = workerThreads
        self.eventLoops = eventLoops
        self.maxConnections = maxConnections
        self.maxQueuedRequests = maxQueuedRequests
        self.connection = connection
        self.tickInterval = tickInterval
        self.lingerTimeout = lingerTimeout
    }
}
