// libFuzzer entry point for the request-body JSON parser (UnfoldService/Routes/JSONParser.swift):
// any bytes end in a value or a RequestError naming a byte offset inside the body, never a
// crash, and what parses once parses the same again.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let value = try JSONValue.parse(bytes)
        guard (try? JSONValue.parse(bytes)) == value else { fatalError("a second parse of the same bytes gave another value") }
    } catch {
        guard case .badRequest(let message) = error else { fatalError("parse threw \(error), not badRequest") }
        guard let offset = message.split(separator: " ").last.flatMap({ Int($0) }), offset >= 0, offset <= size else {
            fatalError("the error names no byte offset inside the \(size)-byte body: \(message)")
        }
    }
    return 0
}
