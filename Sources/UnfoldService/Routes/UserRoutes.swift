import Foundation
import UnfoldData
import UnfoldHTTP
import UnfoldServing

/// The users the server remembers: `GET /v1/users/{id}`, `GET|POST /v1/users/{id}/recommend`
/// (the stored history, plus a session's interactions, through the same encode → retrieve →
/// filter path as `/v1/recommend`), and `DELETE /v1/users/{id}` (erasure, admin).
struct UserRoutes {
    /// How many of the latest events `GET /v1/users/{id}` shows.
    static let recentShown = 20
    /// Admin-only, as the guard reads it ("METHOD route-template").
    static let adminWrites: Set<String> = ["DELETE /v1/users/{id}"]

    let recommendations: RecommendRoutes
    let histories: UserHistories
    let tombstones: UserTombstones
    let log: InteractionLog
    let eventTypes: [String: Float]

    func register(on router: HTTPRouter) {
        router.add("GET", "/v1/users/{id}") { request in recommendations.respond { () throws(RequestError) in try user(request) } }
        router.add("DELETE", "/v1/users/{id}") { request in recommendations.respond { () throws(RequestError) in try erase(request) } }
        router.add("GET", "/v1/users/{id}/recommend") { request in recommendations.respond { () throws(RequestError) in try recommendGET(request) } }
        router.add("POST", "/v1/users/{id}/recommend") { request in recommendations.respond { () throws(RequestError) in try recommendPOST(request) } }
    }

    /// The path's user id, held to the ingest rules (what a stored user can be).
    private func userID(_ request: HTTPRequest) throws(RequestError) -> String {
        try IngestRoutes.pathID(request, "user")
    }

    private func user(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try userID(request)
        guard let history = histories.history(of: id) else {
            throw .notFound(code: "user_not_found", "no events are stored for user '\(id)'")
        }
        var json = JSONWriter()
        json.open()
        json.field("id", string: id)
        json.field("events", number: String(history.events.count))
        json.field("total", number: String(history.total))
        json.field("first_seen", number: Self.number(history.firstSeen))
        json.field("last_seen", number: Self.number(history.lastSeen))
        json.key("recent")
        json.openArray()
        for event in history.events.suffix(Self.recentShown).reversed() {
            json.open()
            json.field("item", string: event.item)
            json.field("weight", number: Self.number(Double(event.weight)))
            json.field("timestamp", number: Self.number(event.timestamp))
            if let type = event.type { json.field("type", string: type) }
            json.close()
        }
        json.closeArray()
        json.close()
        return .json(.ok, json.bytes)
    }

    /// Forgets the user now and for every later training run: the tombstone is on disk
    /// before the answer.
    private func erase(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try userID(request)
        do {
            try tombstones.erase(id, at: log.end)
        } catch {
            throw .unavailable("the erasure cannot be written: \(error)")
        }
        let forgotten = histories.remove(id) ?? 0
        var json = JSONWriter()
        json.open()
        json.field("id", string: id)
        json.field("erased", bool: true)
        json.field("events_forgotten", number: String(forgotten))
        json.close()
        return .json(.ok, json.bytes)
    }

    private func recommendGET(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try userID(request)
        let parameters = request.queryParameters
        let k = try RecommendRoutes.k(parameters["k"])
        // An empty query parameter (`?model=`) is an absent one.
        func given(_ name: String) -> String? { parameters[name].flatMap { $0.isEmpty ? nil : $0 } }
        let (served, assignment) = try recommendations.route(model: given("model"), experiment: given("experiment"), user: id)
        let explain: Bool
        switch parameters["explain"] {
        case nil, "false"?: explain = false
        case "true"?: explain = true
        case let other?: throw .badRequest("explain must be true or false, got '\(other ?? "")'")
        }
        return try recommendations.answer(.init(k: k), posted: stored(id, served), with: served, user: id, explain: explain, assignment: assignment)
    }

    private func recommendPOST(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let id = try userID(request)
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        let body = try RecommendRequest(body: request.body.isEmpty ? Array("{}".utf8) : request.body, eventTypes: eventTypes)
        if let other = body.user, other != id { throw .badRequest("user '\(other)' in the body differs from the path's '\(id)'") }
        let (served, assignment) = try recommendations.route(model: body.model, experiment: body.experiment, user: id)
        // The session's interactions come after the stored ones, as if just ingested.
        var posted = stored(id, served)
        for (item, weight) in body.interactions {
            if let index = served.index(of: item) { posted.bag.add(Int32(index), weight: weight) } else { posted.unknown.append(item) }
        }
        posted.bag.ordered = body.ordered
        return try recommendations.answer(body.query, posted: posted, with: served, user: id, explain: body.explain, assignment: assignment)
    }

    /// The user's stored history against a model (empty for a user with none).
    private func stored(_ id: String, _ served: ServedModel) -> PostedItems {
        histories.posted(of: id, model: .init(object: ObjectIdentifier(served), version: served.version)) { served.index(of: $0) } ?? PostedItems()
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
    }
}
