/// The sizes the parser refuses to exceed; every one comes from the configuration.
public struct HTTPParserLimits: Sendable, Equatable {
    /// The request line, without its CRLF (414 beyond).
    public var maxRequestLineBytes: Int
    /// The header section, all field lines with their CRLFs (431 beyond).
    public var maxHeaderBytes: Int
    /// The number of header fields (431 beyond).
    public var maxHeaderCount: Int
    /// The decoded body (413 beyond).
    public var maxBodyBytes: Int
    /// A chunk-size line with its extensions (400 beyond).
    public var maxChunkLineBytes: Int

    public init(
        maxRequestLineBytes: Int = 8192,
        maxHeaderBytes: Int = 16384,
        maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 10 << 20,
        maxChunkLineBytes: Int = 1024
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
