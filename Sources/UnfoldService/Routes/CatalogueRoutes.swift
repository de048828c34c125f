import Foundation
import UnfoldData
import UnfoldHTTP
import UnfoldServing

/// The item catalogue: `PUT|PATCH|DELETE /v1/items/{id}` (admin writes, on disk before the
/// answer) and `GET /v1/items/{id}` (the catalogue's entry and what the loaded models know).
struct CatalogueRoutes {
    static let adminWrites: Set<String> = ["PUT /v1/items/{id}", "PATCH /v1/items/{id}", "DELETE /v1/items/{id}"]

    let catalogue: ItemCatalogue
    let store: ModelStore

    func register(on router: HTTPRouter) {
        router.add("GET", "/v1/items/{id}") { request in respond { () throws(RequestError) in try item(request) } }
        router.add("PUT", "/v1/items/{id}") { request in respond { () throws(RequestError) in try write(request, replacing: true) } }
        router.add("PATCH", "/v1/items/{id}") { request in respond { () throws(RequestError) in try write(request, replacing: false) } }
        router.add("DELETE", "/v1/items/{id}") { request in respond { () throws(RequestError) in try delete(request) } }
    }

    private func respond(_ body: () throws(RequestError) -> HTTPResponse) -> HTTPResponse {
        do { return try body() } catch { return HTTPResponse(error) }
    }

    /// The path's item id, held to the ingest rules.
    private func itemID(_ request: HTTPRequest) throws(RequestError) -> String {
        try IngestRoutes.pathID(request, "item")
    }

    private func write(_ request: HTTPRequest, replacing: Bool) throws(RequestError) -> HTTPResponse {
        let id = try itemID(request)
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        guard case .object(let object) = try JSONValue.parse(request.body) else { throw .badRequest("body must be a JSON object") }
        let entry = try catalogue.update(id) { (entry: inout ItemEntry) throws(RequestError) in try entry.apply(object, replacing: replacing) }
        return .json(.ok, describe(id, entry))
    }

    private func delete(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try itemID(request)
        let entry = try catalogue.update(id) { (entry: inout ItemEntry) throws(RequestError) in entry.deleted = true }
        return .json(.ok, describe(id, entry))
    }

    private func item(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try itemID(request)
        let models = store.all.sorted { $0.name < $1.name }
        let entry = catalogue.entry(id)
        guard entry != nil || models.contains(where: { $0.index(of: id) != nil }) else {
            if models.isEmpty { throw .notReady("no model is loaded yet") }
            throw .notFound(code: "item_not_found", "neither the catalogue nor a loaded model knows item '\(id)'")
        }
        return .json(.ok, describe(id, entry, models: models))
    }

    /// The item as `GET` shows it: the catalogue's title and categories over the items
    /// file's, the entry itself, and which models know the item.
    private func describe(_ id: String, _ entry: ItemEntry?, models: [ServedModel]? = nil) -> [UInt8] {
        let models = models ?? store.all.sorted { $0.name < $1.name }
        let attributes = models.lazy.compactMap { $0.model.attributes[id] }.first
        var object: [String: JSONValue] = ["id": .string(id)]
        if let title = entry?.title ?? attributes?.title { object["title"] = .string(title) }
        object["categories"] = .array((entry?.categories ?? attributes?.categories ?? []).map(JSONValue.string))
        var known: [String: JSONValue] = [:]
        for m in models { known[m.name] = .object(["known": .bool(m.index(of: id) != nil), "version": .number(Double(m.version))]) }
        object["models"] = .object(known)
        if let entry {
            object["catalogue"] = .object(entry.json)
            object["recommendable"] = .bool(!entry.isHidden(at: Date().timeIntervalSince1970))
        } else {
            object["recommendable"] = .bool(true)
        }
        return JSONValue.object(object).text
    }
}
