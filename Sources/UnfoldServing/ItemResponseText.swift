import UnfoldJSON
import UnfoldModels

/// Every item's response text, escaped once per served model: item i is
/// `{"id":"…","score":` + the score + `,"title":"…"}` (or `}` without a title).
public final class ItemResponseText: Sendable {
    let bytes: [UInt8]
    /// bounds[2i] ..< bounds[2i+1]: the part before the score; bounds[2i+1] ..< bounds[2i+2]: after it.
    let bounds: [Int]

    public init(ids: [String], titles: [String?]) {
        var json: [UInt8] = [], bounds: [Int] = [0]
        json.reserveCapacity(ids.count * 24)
        bounds.reserveCapacity(2 * ids.count + 1)
        for (i, id) in ids.enumerated() {
            Self.head(id: id, into: &json)
            bounds.append(json.count)
            Self.tail(title: titles[i], into: &json)
            bounds.append(json.count)
        }
        self.bytes = json
        self.bounds = bounds
    }

    /// Appends `[item, item, …]` for scored rows; `extras[n]` (JSON members, starting with a
    /// comma), when given, is written into item n's object.
    public func appendList(_ items: [(index: Int, score: Float)], extras: [[UInt8]]? = nil, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (n, (index, score)) in items.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            appendItem(index, score: score, extra: extras?[n], to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Appends one item's object, with `extra` members before its closing brace.
    public func appendItem(_ index: Int, score: Float, extra: [UInt8]? = nil, to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { json in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: json[bounds[2 * index]..<bounds[2 * index + 1]]))
            Self.score(score, into: &out)
            guard let extra else {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: json[bounds[2 * index + 1]..<bounds[2 * index + 2]]))
                return
            }
            // The tail ends with the object's closing brace: the extra members go before it.
            out.append(contentsOf: UnsafeBufferPointer(rebasing: json[bounds[2 * index + 1]..<(bounds[2 * index + 2] - 1)]))
            out.append(contentsOf: extra)
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Appends an item the table does not hold: `{"id":…,"score":…,"title":…,"new":true}`.
    public static func appendNewItem(id: String, score: Float, title: String?, to out: inout [UInt8]) {
        head(id: id, into: &out)
        Self.score(score, into: &out)
        if let title {
            out.append(contentsOf: #","title":"#.utf8)
            appendJSONString(title, to: &out)
        }
        out.append(contentsOf: #","new":true}"#.utf8)
    }

    /// `{"id":"…","score":`
    static func head(id: String, into out: inout [UInt8]) {
        out.append(contentsOf: #"{"id":"#.utf8)
        appendJSONString(id, to: &out)
        out.append(contentsOf: #","score":"#.utf8)
    }

    static func score(_ score: Float, into out: inout [UInt8]) {
        out.append(contentsOf: (score.isFinite ? "\(score)" : "0").utf8)
    }

    /// `,"title":"…"}` or `}`
    static func tail(title: String?, into out: inout [UInt8]) {
        if let title {
            out.append(contentsOf: #","title":"#.utf8)
            appendJSONString(title, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}
