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

    /// `{"model":"wals","name":"wals","params":{"factors":64},"data":{"source":"file","path":"...","test":"...","items":"..."},
    /// "holdout":0.1,"force":false,"time_limit_seconds":600}` becomes a `TrainingSpec`: an
    /// unknown or ill-typed parameter is a 400 naming it. Without `data`, the retrain reuses
    /// the recipe of the active version of that model name: its data, test and items files,
    /// and its parameters unless the request overrides them.
    private func retrain(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        let parsed = request.body.isEmpty ? JSONValue.object([:]) : try JSONValue.parse(request.body)
        guard case .object(let body) = parsed else { throw .badRequest("body must be a JSON object") }
        let known: Set<String> = ["model", "name", "params", "data", "holdout", "tune", "force", "time_limit_seconds", "engine"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw .badRequest("unknown field '\(unknown)'; known fields: \(known.sorted().joined(separator: ", "))")
        }
        var requestedKind: ModelKind?
        switch body["model"] {
        case nil, .null?: break
        case .string(let s)?:
            guard let k = ModelKind(name: s) else { throw .badRequest("unknown model kind '\(s)'; available: \(ModelKind.names.joined(separator: ", "))") }
            requestedKind = k
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
        var holdout: Double?
        switch body["holdout"] {
        case nil, .null?: break
        case .number(let n)?: holdout = n
        default: throw .badRequest("holdout must be a number (the fraction of the training data held out for evaluation)")
        }
        let tune = try tuning(body["tune"])
        var force = false
        switch body["force"] {
        case nil, .null?: break
        case .bool(let b)?: force = b
        default: throw .badRequest("force must be a boolean")
        }
        var requestedEngine: TrainingSpec.Engine?
        switch body["engine"] {
        case nil, .null?: break
        case .string(let s)?:
            guard let e = TrainingSpec.Engine(rawValue: s) else {
                throw .badRequest("unknown engine '\(s)'; known: \(TrainingSpec.Engine.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            requestedEngine = e
        default: throw .badRequest("engine must be a string (local or spark)")
        }
        var limit: Double?
        switch body["time_limit_seconds"] {
        case nil, .null?: break
        case .number(let n)?: limit = n
        default: throw .badRequest("time_limit_seconds must be a number")
        }
        // The recipe of the active version of this name is the base; the request's data and
        // parameters override it.
        let modelName = name ?? requestedKind?.name ?? ModelKind.wals.name
        let recipe = jobs.activeRecipe(modelName)
        let kind = requestedKind ?? recipe?.spec.kind ?? .wals
        var data = try dataSource(body["data"], base: recipe?.spec.data ?? jobs.defaultData)
        // The recipe's engine unless the request names one; its parameters only for the same
        // kind on the same engine (Spark's objective fixes parameters a local recipe sets).
        let engine = requestedEngine ?? (recipe?.spec.kind == kind ? recipe?.spec.engine : nil) ?? .local
        if let recipe, recipe.spec.kind == kind, recipe.spec.engine == engine {
            values = recipe.spec.values.merging(values) { _, requested in requested }
        }
        if let holdout {
            data.holdout = holdout
            data.test = nil
        }
        var spec: TrainingSpec
        do {
            spec = try TrainingSpec(kind: kind, name: modelName, values: values, data: data, engine: engine)
            spec.tune = tune
            try spec.validate()
        } catch {
            throw .badRequest(error.message)
        }
        let job = try jobs.start(spec, timeLimit: limit, force: force, basedOn: recipe?.version)
        var answer: [String: Any] = ["job": job.id, "state": job.state.rawValue, "status_url": "/admin/jobs/\(job.id)"]
        if let version = recipe?.version { answer["based_on"] = version }
        var response = Self.json(answer)
        response.status = .accepted
        return response
    }

    /// `"tune": true` (the defaults: a 600 s budget) or `{"budget_seconds": …, "trials": …,
    /// "validation_fraction": …}`; false or null: no search.
    private func tuning(_ value: JSONValue?) throws(RequestError) -> TuningRequest? {
        switch value {
        case nil, .null?, .bool(false)?: return nil
        case .bool(true)?: return TuningRequest()
        case .object(let object)?:
            let known: Set<String> = ["budget_seconds", "trials", "validation_fraction"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw .badRequest("unknown field 'tune.\(unknown)'; known fields: \(known.sorted().joined(separator: ", "))")
            }
            var request = TuningRequest()
            switch object["budget_seconds"] {
            case nil, .null?: break
            case .number(let n)?: request.budgetSeconds = n
            default: throw .badRequest("tune.budget_seconds must be a number of seconds")
            }
            switch object["trials"] {
            case nil, .null?: break
            case .number(let n)? where n == n.rounded() && abs(n) < 1e9: request.trials = Int(n)
            default: throw .badRequest("tune.trials must be a whole number (configurations in the first round)")
            }
            switch object["validation_fraction"] {
            case nil, .null?: break
            case .number(let n)?: request.validationFraction = n
            default: throw .badRequest("tune.validation_fraction must be a number")
            }
            return request
        default:
            throw .badRequest("tune must be true, false or an object {budget_seconds, trials, validation_fraction}")
        }
    }

    /// The request's `data` object over a base (the active recipe's data, else the configured
    /// defaults): `source` file (a new `path`) or url (a new `url`) replaces the interactions
    /// and drops the base's test file unless `test` names one; log adds the interaction log to
    /// the base's interactions. The items file carries over unless `items` names another.
    private func dataSource(_ value: JSONValue?, base: DataSource) throws(RequestError) -> DataSource {
        var source = base
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
            // Every field is checked, whether or not the source reads it.
            for key in ["path", "test", "items"] { _ = try string(key) }
            if let url = try string("url"), !Fetcher.isURL(url) { throw .badRequest("data.url must be an http, https or file URL") }
            switch kind {
            case "file":
                if let path = try string("path") {
                    source.path = path
                    source.test = nil
                    source.holdout = nil
                }
            case "log": source.log = jobs.interactionLog
            case "url":
                guard let url = try string("url"), Fetcher.isURL(url) else { throw .badRequest("data.url must be an http, https or file URL") }
                source.path = url
                source.test = nil
                source.holdout = nil
            default: throw .badRequest("data.source must be file, log or url")
            }
            if let test = try string("test") {
                source.test = test
                source.holdout = nil
            }
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
