// libFuzzer entry point for the HTTP parser: any bytes, any split, never a crash,
// and one-shot parsing must agree with byte-by-byte parsing.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let limits = HTTPParserLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 2048, maxChunkLineBytes: 64)
    let whole = drain(bytes: bytes, split: bytes.count, limits: limits)
    let split = drain(bytes: bytes, split: size / 2, limits: limits)
    if whole != split {
        fatalError("parser results depend on how the bytes are split")
    }
    return 0
}

private struct Outcome: Equatable {
    var heads: [HTTPRequestHead] = []
    var body: [UInt8] = []
    var ends = 0
    var error: HTTPParserError?
}

private func drain(bytes: [UInt8], split: Int, limits: HTTPParserLimits) -> Outcome {
    var parser = HTTPParser(limits: limits)
    var outcome = Outcome()
    for part in [bytes[0..<split], bytes[split...]] {
        parser.append(part)
        while outcome.error == nil {
            do {
                guard let event = try parser.next() else { break }
                switch event {
                case .head(let head): outcome.heads.append(head)
                case .body(let b): outcome.body += b
                case .end: outcome.ends += 1
                }
            } catch {
                outcome.error = error
            }
        }
    }
    return outcome
}
