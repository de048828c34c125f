import Foundation
import UnfoldData
import UnfoldHTTP
import UnfoldServing

/// `POST /v1/interactions`: appends to the durable interaction log; 202 only once on disk.
struct IngestRoutes {
    static let maxBatch = 10_000
    static let maxIDCharacters = 128
    let log: InteractionLog
    let metrics: ServiceMetrics
    /// `event_types`: a record's `type` → the factor of its weight.
    let eventTypes: [String: Float]
    /// Remembers each acknowledged record for its user.
    let histories: UserHistories
    /// Attributes acknowledged events to the A/B tests' arms.
    let experiments: Experiments
    /// Counts events on items a loaded model does not know.
    let newItems: NewItems
    let store: ModelStore
    /// Called with the number of records each acknowledged batch added.
    let onAccepted: @Sendable (Int) -> Void

    /// A `{id}` path parameter held to the rules a record's `kind` ("user" or "item") is: at
    /// most `maxIDCharacters`, and what the log takes.
    static func pathID(_ request: HTTPRequest, _ kind: String) throws(RequestError) -> String {
        let id = request.pathParameters["id"] ?? ""
        if id.unicodeScalars.count > maxIDCharacters { throw .badRequest("\(kind) id is longer than \(maxIDCharacters) characters") }
        let probe = kind == "user" ? InteractionLog.Record(user: id, item: "-", weight: 0, timestamp: 0) : InteractionLog.Record(user: "-", item: id, weight: 0, timestamp: 0)
        if let reason = InteractionLog.problem(with: probe) { throw .badRequest(reason) }
        return id
    }

    func register(on router: HTTPRouter) {
        router.add("POST", "/v1/interactions") { request in
            do throws(RequestError) {
                return try ingest(request)
            } catch {
                metrics.batchesRejected.increment()
                return HTTPResponse(error)
            }
        }
    }

    private func ingest(_ request: HTTPRequest) throws(RequestError) -> HTTPResponse {
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            throw .unsupportedMediaType("Content-Type must be application/json, got \(type)")
        }
        guard case .object(let body) = try JSONValue.parse(request.body) else { throw .badRequest("body must be a JSON object with \"interactions\"") }
        if let unknown = body.keys.sorted().first(where: { $0 != "interactions" }) { throw .badRequest("unknown field '\(unknown)'") }
        guard case .array(let list)? = body["interactions"] else { throw .badRequest("interactions must be an array") }
        if list.isEmpty { throw .badRequest("interactions must not be empty") }
        if list.count > Self.maxBatch { throw .tooLarge("\(list.count) interactions; at most \(Self.maxBatch) per request") }
        do {
            try append(list)
        } catch {
            metrics.recordsRejected.increment(by: UInt64(list.count))
            throw error
        }
        var response = HTTPResponse.json(.accepted, Array("{\"accepted\":\(list.count)}".utf8))
        response.status = .accepted
        return response
    }

    /// Checks every record, then appends the batch (all or nothing) and waits for the disk.
    private func append(_ list: [JSONValue]) throws(RequestError) {
        let now = Date().timeIntervalSince1970
        var records: [InteractionLog.Record] = []
        records.reserveCapacity(list.count)
        for (index, element) in list.enumerated() {
            guard case .object(let entry) = element else { throw .badRequest("interactions[\(index)] must be an object") }
            func id(_ key: String) throws(RequestError) -> String {
                switch entry[key] {
                case .string(let s)?:
                    // The API's limit, in characters as the contract states it (the log's own
                    // limit, 512 bytes, is never reached by 128 characters).
                    guard s.unicodeScalars.count <= Self.maxIDCharacters else {
                        throw .badRequest("interactions[\(index)].\(key) is longer than \(Self.maxIDCharacters) characters")
                    }
                    return s
                case .number(let n)? where n == n.rounded() && abs(n) < 1e15: return String(Int64(n))
                case nil: throw .badRequest("interactions[\(index)].\(key) is missing")
                default: throw .badRequest("interactions[\(index)].\(key) must be a string or an integer")
                }
            }
            var weight: Float = 1
            switch entry["weight"] {
            case nil, .null?: break
            // Checked as a Double: values just past Float's range would round down into it.
            case .number(let w)? where w.isFinite && w >= 0 && w <= Double(Float.greatestFiniteMagnitude): weight = Float(w)
            default: throw .badRequest("interactions[\(index)]: weight must be a finite number >= 0 (at most \(Double(Float.greatestFiniteMagnitude)))")
            }
            var timestamp = now
            switch entry["timestamp"] {
            case nil, .null?: break
            case .number(let t)?: timestamp = t
            default: throw .badRequest("interactions[\(index)].timestamp must be a number")
            }
            var type: String?
            if case .string(let name)? = entry["type"] { type = name }
            weight *= try RecommendRequest.typeWeight(entry["type"], eventTypes, at: "interactions[\(index)]")
            let record = InteractionLog.Record(user: try id("user"), item: try id("item"), weight: weight, timestamp: timestamp, type: type)
            if let reason = InteractionLog.problem(with: record) { throw .badRequest("interactions[\(index)]: \(reason)") }
            records.append(record)
        }
        do {
            try log.append(records)
        } catch {
            throw .unavailable("the interaction log cannot be written: \(error)")
        }
        histories.add(records.map { ($0.user, $0.item, $0.weight, $0.timestamp, $0.type) })
        experiments.observe(records)
        let models = store.all
        newItems.observe(records) { item in models.contains { $0.index(of: item) == nil } }
        metrics.batchesAccepted.increment()
        metrics.recordsAccepted.increment(by: UInt64(records.count))
        onAccepted(records.count)
    }
}
