import Foundation
import UnfoldHTTP
import UnfoldServing
import UnfoldSnapshot

/// `POST /v1/recommend`, `GET /v1/items/{id}/similar`, `GET /v1/items/{id}`.
struct RecommendRoutes {
    let store: ModelStore
    let defaultModel: String

    func register(on router: HTTPRouter) {
        router.add("POST", "/v1/recommend") { request in respond { () throws(RequestError) in try recommend(request) } }
        router.add("GET", "/v1/items/{id}/similar") { request in respond { () throws(RequestError) in try similar(request) } }
        router.add("GET", "/v1/items/{id}") { request in respond { () throws(RequestError) in try item(request) } }
    }

    private func respond(_ body: () throws(RequestError) -> HTTPResponse) -> HTTPResponse {
        do { return try body() } catch { return HTTPResponse(error) }
    }

    /// The model a request names, or the default one.
    private func model(_ name: String?) throws(RequestError) -> ServedModel {
        let wanted = name ?? defaultModel
        if let model = store.model(named: wanted) { return model }
        if store.count == 0 { throw .notReady("no model is loaded yet") }
        throw .notFound(code: "model_not_found", "no model named '\(wanted)'; loaded: \(store.names.joined(separator: ", "))")
    }

    private func recommend(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        // The common shape takes a one-pass decoder (ids resolved from the body bytes, no
        // JSON tree); anything else, including every malformed body, the general parser.
        let fast = FastRecommendBody.decode(request.body)
        let general = fast == nil ? try RecommendRequest(body: request.body) : nil
        let served = try model(fast?.model ?? general?.model)
        let result: Recommendation
        do {
            if let fast {
                let query = RecommendQuery(interactions: [], k: fast.k, excludeSeen: fast.excludeSeen)
                result = try Recommender.recommend(query, posted: Self.resolve(fast, request.body, served), with: served)
            } else {
                result = try Recommender.recommend(general!.query, with: served)
            }
        } catch {
            throw .badRequest("model '\(served.name)': \(error)")
        }
        var json = JSONWriter()
        json.open()
        json.modelField(served)
        json.field("source", string: result.source.rawValue)
        json.key("items")
        json.items(result.items, model: served)
        json.key("unknown_items")
        json.strings(result.unknownItems)
        json.close()
        return .json(.ok, json.bytes)
    }

    /// The fast path's ids against the model's byte-keyed index.
    static func resolve(_ fast: FastRecommendBody, _ body: [UInt8], _ model: ServedModel) -> PostedItems {
        var posted = PostedItems(capacity: fast.items.count)
        let ids = (model.prepared as? PreparedModel)?.ids
        body.withUnsafeBytes { bytes in
            for (k, range) in fast.items.enumerated() {
                // The byte-keyed table when the model was prepared, else the String one.
                let index = ids.map { $0.index(of: UnsafeRawBufferPointer(rebasing: bytes[range])) }
                    ?? model.indexByID[fast.id(k, in: body)].map(Int.init)
                if let index { posted.add(index, weight: fast.weights[k]) } else { posted.unknown.append(fast.id(k, in: body)) }
            }
        }
        return posted
    }

    private func similar(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let parameters = request.queryParameters
        let served = try model(parameters["model"])
        let id = request.pathParameters["id"] ?? ""
        let k = try Self.k(parameters["k"])
        guard let index = served.indexByID[id] else {
            throw .notFound(code: "item_not_found", "model '\(served.name)' does not know item '\(id)'")
        }
        var json = JSONWriter()
        json.open()
        json.modelField(served)
        json.field("item", string: id)
        json.key("items")
        json.items(Recommender.similar(to: Int(index), k: k, with: served), model: served)
        json.close()
        return .json(.ok, json.bytes)
    }

    private func item(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = request.pathParameters["id"] ?? ""
        let models = store.all.sorted { $0.name < $1.name }
        guard models.contains(where: { $0.indexByID[id] != nil }) else {
            if models.isEmpty { throw .notReady("no model is loaded yet") }
            throw .notFound(code: "item_not_found", "no loaded model knows item '\(id)'")
        }
        let attributes = models.lazy.compactMap { $0.snapshot.attributes[id] }.first
        var json = JSONWriter()
        json.open()
        json.field("id", string: id)
        if let title = attributes?.title { json.field("title", string: title) }
        json.key("categories")
        json.strings(attributes?.categories ?? [])
        json.key("models")
        json.open()
        for m in models {
            json.key(m.name)
            json.open()
            json.field("known", bool: m.indexByID[id] != nil)
            json.field("version", number: String(m.version))
            json.close()
        }
        json.close()
        json.close()
        return .json(.ok, json.bytes)
    }

    static func k(_ text: String?) throws(RequestError) -> Int {
        guard let text else { return 10 }
        guard let k = Int(text), (1...RecommendRequest.maxK).contains(k) else {
            throw .badRequest("k must be an integer between 1 and \(RecommendRequest.maxK), got '\(text)'")
        }
        return k
    }
}

/// Builds JSON text directly: responses are small and hot, so no encoder round trip.
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = [false]

    init() { bytes.reserveCapacity(1024) }

    private mutating func separator() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func open() {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    mutating func close() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    /// A key; the value that follows is written without a separator.
    mutating func key(_ name: String) {
        separator()
        appendJSONString(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
    }

    mutating func raw(_ text: String) {
        separator()
        bytes.append(contentsOf: text.utf8)
    }

    mutating func field(_ name: String, string value: String) {
        key(name)
        separator()
        appendJSONString(value, to: &bytes)
    }

    mutating func field(_ name: String, number value: String) {
        key(name)
        raw(value)
    }

    mutating func field(_ name: String, bool value: Bool) {
        key(name)
        raw(value ? "true" : "false")
    }

    mutating func strings(_ values: [String]) {
        raw("[" + values.map(jsonString).joined(separator: ",") + "]")
    }

    mutating func modelField(_ model: ServedModel) {
        key("model")
        open()
        field("name", string: model.name)
        field("version", number: String(model.version))
        close()
    }

    mutating func items(_ items: [(index: Int, score: Float)], model: ServedModel) {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
        // The ids and titles were escaped once, when the model was loaded.
        let text = (model.prepared as? PreparedModel)?.itemJSON
        for (n, (index, score)) in items.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            if let text {
                text.append(index, score: score, to: &bytes)
            } else {
                // A model loaded without preparation (not the server's): escape as we go.
                ItemJSON.head(id: model.id(index), into: &bytes)
                ItemJSON.score(score, into: &bytes)
                ItemJSON.tail(title: model.titles[index], into: &bytes)
            }
        }
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }
}

/// Every item's response text, escaped once per loaded model: item i is
/// `{"id":"…","score":` + the score + `,"title":"…"}` (or `}` without a title).
final class ItemJSON: Sendable {
    let bytes: [UInt8]
    /// bounds[2i] ..< bounds[2i+1]: the part before the score; bounds[2i+1] ..< bounds[2i+2]: after it.
    let bounds: [Int]

    init(snapshot: Snapshot, titles: [String?]) {
        var json: [UInt8] = [], bounds: [Int] = [0]
        json.reserveCapacity(snapshot.itemCount * 24)
        bounds.reserveCapacity(2 * snapshot.itemCount + 1)
        for (i, id) in snapshot.itemIDs.enumerated() {
            Self.head(id: id, into: &json)
            bounds.append(json.count)
            Self.tail(title: titles[i], into: &json)
            bounds.append(json.count)
        }
        self.bytes = json
        self.bounds = bounds
    }

    func append(_ index: Int, score: Float, to out: inout [UInt8]) {
        bytes.withUnsafeBufferPointer { json in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: json[bounds[2 * index]..<bounds[2 * index + 1]]))
            Self.score(score, into: &out)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: json[bounds[2 * index + 1]..<bounds[2 * index + 2]]))
        }
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
