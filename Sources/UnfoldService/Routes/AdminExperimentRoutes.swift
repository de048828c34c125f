import Foundation
import UnfoldHTTP
import UnfoldServing

/// A/B tests: `PUT|GET|DELETE /admin/experiments/{name}` and `GET /admin/experiments`.
struct AdminExperimentRoutes {
    let experiments: Experiments
    let store: ModelStore

    func register(on router: HTTPRouter) {
        router.add("GET", "/admin/experiments") { _ in
            .json(.ok, JSONValue.object(["experiments": .array(experiments.all.map { describe($0) })]).text)
        }
        router.add("PUT", "/admin/experiments/{name}") { request in respond { () throws(RequestError) in try put(request) } }
        router.add("GET", "/admin/experiments/{name}") { request in
            respond { () throws(RequestError) in
                let name = request.pathParameters["name"] ?? ""
                guard let d = experiments.definition(name) else { throw .notFound(code: "experiment_not_found", "no experiment named '\(name)'") }
                return .json(.ok, describe(d).text)
            }
        }
        router.add("DELETE", "/admin/experiments/{name}") { request in
            respond { () throws(RequestError) in
                let name = request.pathParameters["name"] ?? ""
                guard try experiments.delete(name) else { throw .notFound(code: "experiment_not_found", "no experiment named '\(name)'") }
                return .json(.ok, JSONValue.object(["name": .string(name), "deleted": .bool(true)]).text)
            }
        }
    }

    private func respond(_ body: () throws(RequestError) -> HTTPResponse) -> HTTPResponse {
        do { return try body() } catch { return HTTPResponse(error) }
    }

    private func put(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        guard case .object(let body) = try JSONValue.parse(request.body) else { throw .badRequest("body must be a JSON object with \"arms\"") }
        let definition = try Self.definition(name: name, body, store: store)
        try experiments.put(definition)
        return .json(.ok, describe(definition).text)
    }

    /// An experiment from its JSON (a PUT body, or an entry of the `experiments` file); with
    /// a store, every arm's model (and pinned version) must be loaded.
    static func definition(name: String, _ body: [String: JSONValue], store: ModelStore?) throws(RequestError) -> Experiments.Definition {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw .badRequest("an experiment name is 1 to 64 letters, digits, '-', '_' or '.'")
        }
        if let unknown = body.keys.sorted().first(where: { !["arms", "default"].contains($0) }) {
            throw .badRequest("unknown field '\(unknown)'; known fields: arms, default")
        }
        var isDefault = false
        switch body["default"] {
        case nil, .null?: break
        case .bool(let b)?: isDefault = b
        case let other?: throw .badRequest("default must be a boolean, got \(other.typeName)")
        }
        guard case .array(let list)? = body["arms"], (1...16).contains(list.count) else { throw .badRequest("arms must be an array of 1 to 16 arms") }
        var arms: [Experiments.Arm] = []
        for (k, element) in list.enumerated() {
            guard case .object(let a) = element else { throw .badRequest("arms[\(k)] must be an object") }
            if let unknown = a.keys.sorted().first(where: { !["name", "model", "version", "weight"].contains($0) }) {
                throw .badRequest("arms[\(k)]: unknown field '\(unknown)'; known fields: model, name, version, weight")
            }
            guard case .string(let model)? = a["model"], !model.isEmpty else { throw .badRequest("arms[\(k)].model must be a model name") }
            var armName = model
            switch a["name"] {
            case nil, .null?: break
            case .string(let s)? where !s.isEmpty && s.count <= 64: armName = s
            default: throw .badRequest("arms[\(k)].name must be a string of 1 to 64 characters")
            }
            if arms.contains(where: { $0.name == armName }) { throw .badRequest("arms[\(k)]: two arms are named '\(armName)'") }
            var version: UInt64?
            switch a["version"] {
            case nil, .null?: break
            case .number(let v)? where v >= 0 && v == v.rounded() && v < 9e15: version = UInt64(v)
            default: throw .badRequest("arms[\(k)].version must be a snapshot version (a whole number)")
            }
            var weight = 1.0
            switch a["weight"] {
            case nil, .null?: break
            case .number(let w)? where w > 0 && w <= 1e6: weight = w
            default: throw .badRequest("arms[\(k)].weight must be a number above 0 (at most 1000000)")
            }
            if let store, let version {
                guard store.model(named: model, version: version) != nil else {
                    throw .badRequest("arms[\(k)]: model '\(model)' has no valid version \(version)")
                }
            } else if let store, store.model(named: model) == nil {
                throw .badRequest("arms[\(k)]: no model named '\(model)' is loaded; loaded: \(store.names.joined(separator: ", "))")
            }
            arms.append(.init(name: armName, model: model, version: version, weight: weight))
        }
        return Experiments.Definition(name: name, arms: arms, isDefault: isDefault, createdAt: Date().timeIntervalSince1970)
    }

    /// The definition with each arm's outcome so far: requests, users, hits, the hit rate
    /// (hits per request) and its 95% Wilson interval.
    private func describe(_ d: Experiments.Definition) -> JSONValue {
        let counts = experiments.counts(d.name) ?? []
        let total = d.arms.reduce(0) { $0 + $1.weight }
        return .object([
            "name": .string(d.name), "default": .bool(d.isDefault), "created_at": .number(d.createdAt),
            "attribution_window_seconds": .number(experiments.attributionWindow),
            "arms": .array(d.arms.enumerated().map { k, arm in
                let c = k < counts.count ? counts[k] : Experiments.Counts()
                let (low, high) = Experiments.wilson(c.hits, c.requests)
                var object: [String: JSONValue] = [
                    "name": .string(arm.name), "model": .string(arm.model), "weight": .number(arm.weight), "share": .number(arm.weight / total),
                    "requests": .number(Double(c.requests)), "users": .number(Double(c.users.count)), "hits": .number(Double(c.hits)),
                    "hit_rate": .number(c.requests > 0 ? Double(c.hits) / Double(c.requests) : 0),
                    "hit_rate_interval": .array([.number(low), .number(high)]),
                ]
                if let v = arm.version { object["version"] = .number(Double(v)) }
                return .object(object)
            }),
        ])
    }
}
