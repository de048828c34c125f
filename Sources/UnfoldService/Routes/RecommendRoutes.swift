import Foundation
import UnfoldHTTP
import UnfoldServing
import UnfoldJSON

/// `POST /v1/recommend` and `GET /v1/items/{id}/similar`, with the catalogue's hidden,
/// expired and re-filed items applied.
struct RecommendRoutes {
    let store: ModelStore
    let defaultModel: String
    /// `event_types`, for posted interactions with a `type`.
    let eventTypes: [String: Float]
    let catalogue: ItemCatalogue
    let experiments: Experiments
    let newItems: NewItems
    let histories: UserHistories

    /// Where a request was sent by an A/B test.
    struct Assignment {
        var experiment: String
        var arm: Int
        var armName: String
        var user: String?
    }

    func register(on router: HTTPRouter) {
        router.add("POST", "/v1/recommend") { request in respond { () throws(RequestError) in try recommend(request) } }
        router.add("GET", "/v1/items/{id}/similar") { request in respond { () throws(RequestError) in try similar(request) } }
    }

    func respond(_ body: () throws(RequestError) -> HTTPResponse) -> HTTPResponse {
        do { return try body() } catch { return HTTPResponse(error) }
    }

    /// The model a request names, or the default one.
    func model(_ name: String?) throws(RequestError) -> ServedModel {
        let wanted = name ?? defaultModel
        if let model = store.model(named: wanted) { return model }
        if store.count == 0 { throw .notReady("no model is loaded yet") }
        throw .notFound(code: "model_not_found", "no model named '\(wanted)'; loaded: \(store.names.joined(separator: ", "))")
    }

    /// The model that answers: the named one; else the named experiment's (or, when the
    /// request names neither, the default experiment's) arm for the user; else the default.
    func route(model name: String?, experiment: String?, user: String?) throws(RequestError) -> (ServedModel, Assignment?) {
        if let experiment, name != nil { throw .badRequest("name a model or an experiment, not both (experiment '\(experiment)')") }
        if name != nil { return (try model(name), nil) }
        let definition: Experiments.Definition
        if let experiment {
            guard let d = experiments.definition(experiment) else {
                throw .notFound(code: "experiment_not_found", "no experiment named '\(experiment)'")
            }
            definition = d
        } else if let d = experiments.defaultExperiment {
            definition = d
        } else {
            return (try model(nil), nil)
        }
        let k = definition.arm(for: user)
        let arm = definition.arms[k]
        let served = arm.version.map { store.model(named: arm.model, version: $0) } ?? store.model(named: arm.model)
        guard let served else {
            throw .notReady("arm '\(arm.name)' of experiment '\(definition.name)' serves model '\(arm.model)'\(arm.version.map { " version \($0)" } ?? ""), which is not loaded")
        }
        return (served, Assignment(experiment: definition.name, arm: k, armName: arm.name, user: user))
    }

    private func recommend(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        // The common shape takes a one-pass decoder (ids resolved from the body bytes, no
        // JSON tree); anything else, including every malformed body, the general parser.
        let fast = FastRecommendBody.decode(request.body)
        let general = fast == nil ? try RecommendRequest(body: request.body, eventTypes: eventTypes) : nil
        let (served, assignment) = try route(model: fast?.model ?? general?.model, experiment: general?.experiment, user: general?.user)
        if let fast {
            let query = RecommendQuery(k: fast.k, excludeSeen: fast.excludeSeen)
            return try answer(query, posted: Self.resolve(fast, request.body, served), with: served, assignment: assignment)
        }
        var posted = served.resolve(general!.interactions)
        posted.bag.ordered = general!.ordered
        return try answer(general!.query, posted: posted, with: served, explain: general!.explain, assignment: assignment)
    }

    /// Encode → retrieve → filter, and the response: the same for `/v1/recommend` and a
    /// user's recommendation (which names the user).
    func answer(_ query: RecommendQuery, posted: PostedItems, with served: ServedModel, user: String? = nil, explain: Bool = false,
                assignment: Assignment? = nil) throws(RequestError) -> HTTPResponse {
        var query = query
        if let view = catalogue.view(for: served) {
            query.hiddenRows = view.hiddenRows
            query.categoryMembers = view.categoryMembers
        }
        let result: Recommendation
        do {
            result = try Recommender.recommend(query, posted: posted, with: served)
        } catch {
            throw .badRequest("model '\(served.name)': \(error)")
        }
        var json = JSONWriter()
        json.open()
        json.modelField(served)
        if let user { json.field("user", string: user) }
        json.field("source", string: result.source.rawValue)
        if let assignment {
            experiments.served(assignment.experiment, arm: assignment.arm, user: assignment.user, items: result.items.map { served.id($0.index) })
            json.key("experiment")
            json.open()
            json.field("name", string: assignment.experiment)
            json.field("arm", string: assignment.armName)
            json.close()
        }
        let entries = result.source == .model ? merged(result.items, query: query, posted: posted, served: served) : nil
        var because: [Int: [UInt8]] = [:]
        if explain, result.source == .model,
           let features = try? served.model.encoder.features(query.features),
           let explanation = Explanation.explain(result.items, bag: posted.bag, features: features, with: served) {
            json.field("explanation", string: explanation.exact ? "exact" : "approximate")
            for (n, item) in result.items.enumerated() { because[item.index] = Self.because(explanation.contributions[n], served) }
        }
        if let entries {
            write(entries, served, because: because, into: &json)
        } else {
            json.items(result.items, model: served, extras: because.isEmpty ? nil : result.items.map { because[$0.index] ?? [] })
        }
        json.key("unknown_items")
        json.strings(result.unknownItems)
        json.close()
        return .json(.ok, json.bytes)
    }

    /// `,"because":[{"item":…,"contribution":…},…]`: the three largest contributions.
    static func because(_ contributions: [(index: Int, contribution: Float)], _ served: ServedModel) -> [UInt8] {
        var out = Array(#","because":["#.utf8)
        for (n, c) in contributions.prefix(3).enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out += Array(#"{"item":"#.utf8)
            appendJSONString(served.id(c.index), to: &out)
            out += Array(",\"contribution\":\(c.contribution.isFinite ? c.contribution : 0)}".utf8)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The fast path's ids, straight from the body bytes, against the model's id index.
    static func resolve(_ fast: FastRecommendBody, _ body: [UInt8], _ model: ServedModel) -> PostedItems {
        var posted = PostedItems(capacity: fast.items.count)
        body.withUnsafeBytes { bytes in
            for (k, range) in fast.items.enumerated() {
                if let index = model.ids.index(of: UnsafeRawBufferPointer(rebasing: bytes[range])) {
                    posted.bag.add(Int32(index), weight: fast.weights[k])
                } else {
                    posted.unknown.append(fast.id(k, in: body))
                }
            }
        }
        return posted
    }

    private func similar(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let parameters = request.queryParameters
        let served = try model(parameters["model"])
        let id = request.pathParameters["id"] ?? ""
        let k = try Self.k(parameters["k"])
        let index = served.index(of: id)
        let hidden = catalogue.view(for: served)?.hiddenRows ?? []
        let withNew = similarWithNew(id, index: index, k: k, hidden: hidden, served: served)
        guard index != nil || withNew != nil else {
            throw .notFound(code: "item_not_found", "model '\(served.name)' does not know item '\(id)'")
        }
        var json = JSONWriter()
        json.open()
        json.modelField(served)
        json.field("item", string: id)
        if index == nil { json.field("new", bool: true) }
        if let withNew {
            write(withNew, served, because: [:], into: &json)
        } else {
            json.items(Recommender.similar(to: index!, k: k, hidden: hidden, with: served), model: served)
        }
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
