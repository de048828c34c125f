import Foundation
import UnfoldHTTP
import UnfoldServing

/// `GET /admin/models` and `POST /admin/models/{name}/activate`.
struct AdminModelRoutes {
    let store: ModelStore

    func register(on router: HTTPRouter) {
        router.add("GET", "/admin/models") { _ in list() }
        router.add("GET", "/admin/models/{name}/versions/{version}") { request in
            do throws(RequestError) { return try details(request) } catch { return HTTPResponse(error) }
        }
        router.add("POST", "/admin/models/{name}/activate") { request in
            do throws(RequestError) { return try activate(request) } catch { return HTTPResponse(error) }
        }
    }

    private func list() -> HTTPResponse {
        let versions = store.versions
        var models: [[String: Any]] = []
        for name in versions.keys.sorted() {
            let active = store.model(named: name)
            models.append([
                "name": name,
                "active_version": active.map { NSNumber(value: $0.version) } ?? NSNull(),
                // The approximate index serving the active version (null: exact scans).
                "index": active?.index.map { index -> [String: Any] in
                    ["kind": "ivf", "lists": index.lists, "probes": index.probes, "recall@10": Double(index.recall), "sample_queries": index.sampleQueries]
                } ?? NSNull(),
                "versions": versions[name]!.map { Self.describe($0) },
            ])
        }
        return Self.json(["snapshots": store.directory, "models": models])
    }

    private func activate(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        guard case .object(let body) = try JSONValue.parse(request.body) else { throw .badRequest("body must be a JSON object with a \"version\"") }
        guard case .number(let v)? = body["version"], v >= 0, v == v.rounded(), v < 1.8e19 else {
            throw .badRequest("version must be a whole number (see GET /admin/models)")
        }
        let model: ServedModel
        do {
            model = try store.activate(name: name, version: UInt64(v))
        } catch {
            switch error {
            case .unknownModel(let n): throw .notFound(code: "model_not_found", "no snapshot of a model named '\(n)'")
            case .unknownVersion(let n, let version): throw .notFound(code: "version_not_found", "model '\(n)' has no version \(version)")
            case .invalid(let reason): throw .unprocessable("that snapshot cannot be served: \(reason)")
            }
        }
        return Self.json(["model": ["name": model.name, "version": NSNumber(value: model.version)], "state": "active"])
    }

    /// One version's metadata: recipe, hyperparameters, evaluation, epochs, spectrum.
    private func details(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let name = request.pathParameters["name"] ?? ""
        guard let text = request.pathParameters["version"], let version = UInt64(text) else {
            throw .badRequest("version must be a whole number (see GET /admin/models)")
        }
        guard let versions = store.versions[name] else { throw .notFound(code: "model_not_found", "no snapshot of a model named '\(name)'") }
        guard let info = versions.first(where: { $0.version == version }) else { throw .notFound(code: "version_not_found", "model '\(name)' has no version \(version)") }
        guard let metadata = info.metadata else { throw .unprocessable("version \(version) of '\(name)' failed a check: \(info.reason ?? "")") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(metadata) else { throw .unavailable("the metadata cannot be encoded") }
        var body = Array(#"{"state":"#.utf8)
        body += Array(("\"" + info.state.rawValue + "\",\"metadata\":").utf8)
        body += Array(data)
        body.append(UInt8(ascii: "}"))
        return .json(.ok, body)
    }

    static func describe(_ info: ModelStore.VersionInfo) -> [String: Any] {
        var out: [String: Any] = [
            "version": NSNumber(value: info.version), "state": info.state.rawValue, "file": info.path,
            "evaluation": info.evaluation,
        ]
        if let reason = info.reason { out["reason"] = reason }
        if let created = info.createdAt { out["created_at"] = created }
        return out
    }

    static func json(_ object: [String: Any]) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return .json(.ok, [UInt8](data))
    }
}
