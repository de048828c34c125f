import Foundation
import UnfoldData
import UnfoldHTTP
import UnfoldModels

/// `POST /admin/retrain`, `GET /admin/jobs`, `GET /admin/jobs/{id}`, `DELETE /admin/jobs/{id}`.
struct AdminJobRoutes {
    let jobs: JobSupervisor

    func register(on router: HTTPRouter) {
        router.add("POST", "/admin/retrain") { request in
            do throws(RequestError) { return try retrain(request) } catch { return HTTPResponse(error) }
        }
        router.add("GET", "/admin/jobs") { _ in
            Self.json(["jobs": jobs.jobs.map(Self.object)])
        }
        router.add("GET", "/admin/jobs/{id}") { request in
            guard let job = jobs.job(request.pathParameters["id"] ?? "") else {
                return HTTPResponse(RequestError.notFound(code: "job_not_found", "no job '\(request.pathParameters["id"] ?? "")'"))
            }
            return Self.json(Self.object(job))
        }
        router.add("DELETE", "/admin/jobs/{id}") { request in
            do throws(RequestError) {
                let job = try jobs.cancel(request.pathParameters["id"] ?? "")
                var response = Self.json(["job": job.id, "state": "cancelling"])
                response.status = .accepted
                return response
            } catch {
                return HTTPResponse(error)
            }
        }
    }

    /// `{"model":"wals","name":"wals","params":{"factors":64},"data":{"source":"file","path":"...","test":"...","items":"..."},"time_limit_seconds":600}`
    /// becomes a `TrainingSpec`: an unknown or ill-typed parameter is a 400 naming it.
    private func retrain(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let parsed = request.body.isEmpty ? JSONValue.object([:]) : try JSONValue.parse(request.body)
        guard case .object(let body) = parsed else { throw .badRequest("body must be a JSON object") }
        let known: Set<String> = ["model", "name", "params", "data", "time_limit_seconds"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw .badRequest("unknown field '\(unknown)'; known fields: \(known.sorted().joined(separator: ", "))")
        }
        var kind = ModelKind.wals
        switch body["model"] {
        case nil, .null?: break
        case .string(let s)?:
            guard let k = ModelKind(name: s) else { throw .badRequest("unknown model kind '\(s)'; available: \(ModelKind.names.joined(separator: ", "))") }
            kind = k
        default: throw .badRequest("model must be a string")
        }
        var name: String?
        switch body["name"] {
        case nil, .null?: break
        case .string(let s)?: name = s
        default: throw .badRequest("name must be a string")
        }
        var values: [String: ParameterValue] = [:]
        switch body["params"] {
        case nil, .null?: break
        case .object(let object)?:
            for (key, value) in object {
                switch value {
                case .number(let n): values[key] = .number(n)
                case .string(let s): values[key] = .string(s)
                case .bool(let b): values[key] = .bool(b)
                case .null: continue
                default: throw .badRequest("parameter '\(key)' must be a number, a string or a boolean, got \(value.typeName)")
                }
            }
        default: throw .badRequest("params must be an object")
        }
        let data = try dataSource(body["data"])
        var limit: Double?
        switch body["time_limit_seconds"] {
        case nil, .null?: break
        case .number(let n)?: limit = n
        default: throw .badRequest("time_limit_seconds must be a number")
        }
        let spec: TrainingSpec
        do {
            spec = try TrainingSpec(kind: kind, name: name, values: values, data: data)
        } catch {
            throw .badRequest(error.message)
        }
        let job = try jobs.start(spec, timeLimit: limit)
        var response = Self.json(["job": job.id, "state": job.state.rawValue, "status_url": "/admin/jobs/\(job.id)"])
        response.status = .accepted
        return response
    }

    /// The request's `data` object over the configured defaults: `source` file (a path),
    /// url (a URL) or log (the configured data plus the interaction log).
    private func dataSource(_ value: JSONValue?) throws(RequestError) -> DataSource {
        var source = jobs.defaultData
        switch value {
        case nil, .null?: return source
        case .object(let data)?:
            let known: Set<String> = ["source", "path", "url", "test", "items"]
            if let unknown = data.keys.sorted().first(where: { !known.contains($0) }) {
                throw .badRequest("unknown field 'data.\(unknown)'; known fields: \(known.sorted().joined(separator: ", "))")
            }
            let kind: String
            switch data["source"] {
            case nil: kind = "file"
            case .string(let s)?: kind = s
            default: throw .badRequest("data.source must be a string")
            }
            func string(_ key: String) throws(RequestError) -> String? {
                switch data[key] {
                case nil, .null?: return nil
                case .string(let s)?: return s
                default: throw .badRequest("data.\(key) must be a string")
                }
            }
            switch kind {
            case "file": if let path = try string("path") { source.path = path }
            case "log": source.log = jobs.interactionLog
            case "url":
                guard let url = try string("url"), Fetcher.isURL(url) else { throw .badRequest("data.url must be an http, https or file URL") }
                source.path = url
            default: throw .badRequest("data.source must be file, log or url")
            }
            if let test = try string("test") { source.test = test }
            if let items = try string("items") { source.items = items }
            return source
        default: throw .badRequest("data must be an object")
        }
    }

    static func object(_ job: TrainingJob) -> Any {
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(job), let object = try? JSONSerialization.jsonObject(with: data) else { return [:] as [String: Any] }
        return object
    }

    static func json(_ object: Any) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return .json(.ok, [UInt8](data))
    }
}
