import Foundation
import UnfoldServing

/// A one-pass decoder for the common shape of a `POST /v1/recommend` body:
/// `{"interactions":[{"item":"…","weight":n,"timestamp":n},…],"k":n,"model":"…","exclude_seen":b}`
/// with ids that are plain strings (no escapes) or plain integers. It keeps the ids as byte
/// ranges of the body. Anything else — other fields, escapes, unusual numbers, any error —
/// returns nil, and the general parser (`RecommendRequest`) takes the body, with its exact
/// error messages. Accepted bodies decode to the same query as the general parser would.
struct FastRecommendBody {
    var items: [Range<Int>] = []
    var weights: [Float] = []
    var k = 10
    var excludeSeen = true
    var model: String?

    static func decode(_ body: [UInt8]) -> FastRecommendBody? {
        body.withUnsafeBufferPointer { b -> FastRecommendBody? in
            var scanner = Scanner(b: b)
            return scanner.body()
        }
    }

    /// The ids as strings (for the tests and for unknown ids).
    func id(_ k: Int, in body: [UInt8]) -> String { String(decoding: body[items[k]], as: UTF8.self) }

    private struct Scanner {
        let b: UnsafeBufferPointer<UInt8>
        var i = 0

        mutating func space() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
        }

        mutating func expect(_ c: UInt8) -> Bool {
            space()
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }

        /// A string without escapes or control characters: its byte range (quotes excluded).
        mutating func plainString() -> Range<Int>? {
            space()
            guard i < b.count, b[i] == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            var j = start
            while j < b.count, b[j] != UInt8(ascii: "\"") {
                if b[j] == UInt8(ascii: "\\") || b[j] < 0x20 || b[j] >= 0x80 { return nil }
                j += 1
            }
            guard j < b.count else { return nil }
            i = j + 1
            return start..<j
        }

        /// A plain non-negative integer (no sign, fraction, exponent or leading zero).
        mutating func plainInteger() -> Range<Int>? {
            space()
            let start = i
            while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
            let digits = i - start
            guard digits > 0, digits <= 15, !(digits > 1 && b[start] == UInt8(ascii: "0")) else { return nil }
            if i < b.count, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") { return nil }
            return start..<i
        }

        /// A JSON number, read by the general parser's own grammar (`JSONNumber`).
        mutating func number() -> Double? {
            space()
            guard case .value(let v, let end) = JSONNumber.scan(b, from: i) else { return nil }
            i = end
            return v
        }

        func key(_ r: Range<Int>, is name: StaticString) -> Bool {
            guard r.count == name.utf8CodeUnitCount else { return false }
            return memcmp(b.baseAddress! + r.lowerBound, name.utf8Start, r.count) == 0
        }

        mutating func body() -> FastRecommendBody? {
            var out = FastRecommendBody()
            var seen: UInt8 = 0  // a bit per field already read
            guard expect(UInt8(ascii: "{")) else { return nil }
            if expect(UInt8(ascii: "}")) { return finish(out) }
            repeat {
                guard let name = plainString(), expect(UInt8(ascii: ":")) else { return nil }
                // A repeated field: leave the general parser's rules to it.
                let field: Int
                if key(name, is: "interactions") {
                    field = 0
                    guard interactions(&out) else { return nil }
                } else if key(name, is: "k") {
                    field = 1
                    guard let k = number(), k == k.rounded(), k >= 1, k <= Double(RecommendRequest.maxK) else { return nil }
                    out.k = Int(k)
                } else if key(name, is: "model") {
                    field = 2
                    guard let m = plainString() else { return nil }
                    out.model = String(decoding: UnsafeBufferPointer(rebasing: b[m]), as: UTF8.self)
                } else if key(name, is: "exclude_seen") {
                    field = 3
                    space()
                    if b.count - i >= 4, memcmp(b.baseAddress! + i, "true", 4) == 0 { out.excludeSeen = true; i += 4 }
                    else if b.count - i >= 5, memcmp(b.baseAddress! + i, "false", 5) == 0 { out.excludeSeen = false; i += 5 }
                    else { return nil }
                } else {
                    return nil
                }
                guard seen & (1 << field) == 0 else { return nil }
                seen |= 1 << field
            } while expect(UInt8(ascii: ","))
            guard expect(UInt8(ascii: "}")) else { return nil }
            return finish(out)
        }

        mutating func finish(_ out: FastRecommendBody) -> FastRecommendBody? {
            space()
            return i == b.count ? out : nil
        }

        mutating func interactions(_ out: inout FastRecommendBody) -> Bool {
            guard expect(UInt8(ascii: "[")) else { return false }
            if expect(UInt8(ascii: "]")) { return true }
            // Typical histories fit without regrowing the arrays.
            out.items.reserveCapacity(32)
            out.weights.reserveCapacity(32)
            repeat {
                guard out.items.count < RecommendRequest.maxInteractions, expect(UInt8(ascii: "{")) else { return false }
                var item: Range<Int>?, weight: Float = 1
                var fields = 0
                repeat {
                    guard let name = plainString(), expect(UInt8(ascii: ":")) else { return false }
                    if key(name, is: "item") {
                        guard item == nil else { return false }
                        space()
                        if i < b.count, b[i] == UInt8(ascii: "\"") {
                            guard let r = plainString(), !r.isEmpty else { return false }
                            item = r
                        } else {
                            guard let r = plainInteger() else { return false }
                            item = r
                        }
                    } else if key(name, is: "weight") {
                        guard fields & 1 == 0, let w = number(), w >= 0, w <= 1e6 else { return false }
                        fields |= 1
                        weight = Float(w)
                    } else if key(name, is: "timestamp") {
                        guard fields & 2 == 0, number() != nil else { return false }
                        fields |= 2
                    } else {
                        return false
                    }
                } while expect(UInt8(ascii: ","))
                guard expect(UInt8(ascii: "}")), let item else { return false }
                out.items.append(item)
                out.weights.append(weight)
            } while expect(UInt8(ascii: ","))
            return expect(UInt8(ascii: "]"))
        }
    }
}
