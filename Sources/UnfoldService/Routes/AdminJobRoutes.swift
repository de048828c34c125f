import Foundation
import UnfoldData
import UnfoldHTTP

/// `POST /admin/retrain`, `GET /admin/jobs`, `GET /admin/jobs/{id}`, `DELETE /admin/jobs/{id}`.
struct AdminJobRoutes {
    let jobs: JobManager

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

    /// `{"model":"wals","params":{"factors":64},"data":{"source":"file","path":"...","test":"...","items":"..."},"time_limit_seconds":600}`
    private func retrain(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let parsed = request.body.isEmpty ? JSONValue.object([:]) : try JSONValue.parse(request.body)
        guard case .object(let body) = parsed else { throw .badRequest("body must be a JSON object") }
        let known: Set<String> = ["model", "params", "data", "time_limit_seconds"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) { throw .badRequest("unknown field '\(unknown)'") }
        var model = "wals"
        if let value = body["model"] {
            guard case .string(let s) = value else { throw .badRequest("model must be a string") }
            model = s
        }
        var parameters: [String: JSONValue] = [:]
        switch body["params"] {
        case nil, .null?: break
        case .object(let object)?: parameters = object
        default: throw .badRequest("params must be an object")
        }
        var path: String?, test: String?, items: String?, includeLog = false
        switch body["data"] {
        case nil, .null?: break
        case .object(let data)?:
            let source: String
            switch data["source"] {
            case nil: source = "file"
            case .string(let s)?: source = s
            default: throw .badRequest("data.source must be a string")
            }
            switch source {
            case "file": break
            case "log": includeLog = true
            case "url": break
            default: throw .badRequest("data.source must be file, log or url")
            }
            func string(_ key: String) throws(RequestError) -> String? {
                switch data[key] {
                case nil, .null?: return nil
                case .string(let s)?: return s
                default: throw .badRequest("data.\(key) must be a string")
                }
            }
            path = try string(source == "url" ? "url" : "path")
            if source == "url" {
                guard let url = path, Fetcher.isURL(url) else { throw .badRequest("data.url must be an http, https or file URL") }
            }
            test = try string("test")
            items = try string("items")
        default: throw .badRequest("data must be an object")
        }
        var limit: Double?
        switch body["time_limit_seconds"] {
        case nil, .null?: break
        case .number(let n)?: limit = n
        default: throw .badRequest("time_limit_seconds must be a number")
        }
        let job = try jobs.start(model: model, parameters: parameters, data: path, test: test, items: items, timeLimit: limit, includeLog: includeLog)
        var response = Self.json(["job": job.id, "state": job.state.rawValue, "status_url": "/admin/jobs/\(job.id)"])
        response.status = .accepted
        return response
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
