// libFuzzer entry point for the two decoders of a `POST /v1/recommend` body
// (UnfoldService/Routes): the general one (JSONValue.parse, then RecommendRequest's checks)
// must end in a request or a RequestError, never a crash; and every body the one-pass fast
// decoder (FastRecommendBody) accepts, the general one must accept and decode alike.
@testable import UnfoldService

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecommendBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    let general = try? RecommendRequest(body: body)
    guard let fast = FastRecommendBody.decode(body) else { return 0 }
    guard let general else { fatalError("the fast decoder accepted a body the general parser refuses") }
    guard fast.items.indices.map({ fast.id($0, in: body) }) == general.interactions.map(\.item),
          fast.weights == general.interactions.map(\.weight),
          fast.k == general.query.k, fast.excludeSeen == general.query.excludeSeen, fast.model == general.model else {
        fatalError("the fast decoder and the general parser disagree")
    }
    return 0
}
