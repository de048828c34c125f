import UnfoldHTTP
import UnfoldModels
import UnfoldServing

/// The body of `POST /v1/recommend`, checked field by field.
struct RecommendRequest {
    static let maxInteractions = 10_000
    static let maxK = 1000
    static let fields: Set<String> = ["interactions", "k", "model", "exclude_seen", "exclude", "include", "categories", "features", "explain", "user", "experiment", "ordered", "exact"]

    var query: RecommendQuery
    var interactions: [(item: String, weight: Float)]
    var model: String?
    /// Add to each item the history items that contributed most to its score.
    var explain = false
    /// The interactions are a history, oldest first (recency applies); false: a set.
    var ordered = true
    /// Who asks (an A/B test's assignment sticks to it, and its outcomes are attributed).
    var user: String?
    /// The A/B test to answer from, instead of a model.
    var experiment: String?

    /// `eventTypes` maps an interaction's `type` to the factor its weight is multiplied by
    /// (the `event_types` setting); a negative one makes a dislike.
    init(body: [UInt8], eventTypes: [String: Float] = [:]) throws(RequestError) {
        guard case .object(let object) = try JSONValue.parse(body) else {
            throw .badRequest("body must be a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw .badRequest("unknown field '\(unknown)'; known fields: \(Self.fields.sorted().joined(separator: ", "))")
        }
        interactions = []
        switch object["interactions"] {
        case nil, .null?: break
        case .array(let list)?:
            if list.count > Self.maxInteractions {
                throw .tooLarge("\(list.count) interactions; at most \(Self.maxInteractions) per request")
            }
            interactions.reserveCapacity(list.count)
            for (index, element) in list.enumerated() {
                guard case .object(let entry) = element else { throw .badRequest("interactions[\(index)] must be an object with an \"item\"") }
                let item: String
                switch entry["item"] {
                case .string(let s)? where !s.isEmpty: item = s
                case .number(let n)? where n == n.rounded() && abs(n) < 1e15: item = String(Int64(n))
                case nil: throw .badRequest("interactions[\(index)].item is missing")
                default: throw .badRequest("interactions[\(index)].item must be a non-empty string or an integer")
                }
                var weight: Float = 1
                switch entry["weight"] {
                case nil, .null?: break
                case .number(let w)? where w.isFinite && w >= 0 && w <= 1e6: weight = Float(w)
                default: throw .badRequest("interactions[\(index)].weight must be a number between 0 and 1000000")
                }
                switch entry["timestamp"] {
                case nil, .null?, .number?: break
                default: throw .badRequest("interactions[\(index)].timestamp must be a number")
                }
                weight *= try Self.typeWeight(entry["type"], eventTypes, at: "interactions[\(index)]")
                interactions.append((item, weight))
            }
        case let other?:
            throw .badRequest("interactions must be an array, got \(other.typeName)")
        }
        var k = 10
        switch object["k"] {
        case nil, .null?: break
        case .number(let n)? where n == n.rounded() && n >= 1 && n <= Double(Self.maxK): k = Int(n)
        case let other?: throw .badRequest("k must be an integer between 1 and \(Self.maxK), got \(Self.describe(other))")
        }
        var excludeSeen = true
        switch object["exclude_seen"] {
        case nil, .null?: break
        case .bool(let b)?: excludeSeen = b
        case let other?: throw .badRequest("exclude_seen must be a boolean, got \(other.typeName)")
        }
        switch object["explain"] {
        case nil, .null?: break
        case .bool(let b)?: explain = b
        case let other?: throw .badRequest("explain must be a boolean, got \(other.typeName)")
        }
        switch object["ordered"] {
        case nil, .null?: break
        case .bool(let b)?: ordered = b
        case let other?: throw .badRequest("ordered must be a boolean, got \(other.typeName)")
        }
        var exact = false
        switch object["exact"] {
        case nil, .null?: break
        case .bool(let b)?: exact = b
        case let other?: throw .badRequest("exact must be a boolean, got \(other.typeName)")
        }
        for (key, value) in [("user", object["user"]), ("experiment", object["experiment"])] {
            switch value {
            case nil, .null?: break
            case .string(let s)? where !s.isEmpty && s.count <= 128:
                if key == "user" { user = s } else { experiment = s }
            case let other?: throw .badRequest("\(key) must be a string of 1 to 128 characters, got \(other.typeName)")
            }
        }
        switch object["model"] {
        case nil, .null?: model = nil
        case .string(let s)?: model = s
        case let other?: throw .badRequest("model must be a string, got \(other.typeName)")
        }
        var features: [String: FeatureValue] = [:]
        switch object["features"] {
        case nil, .null?: break
        case .object(let values)?:
            for (name, value) in values {
                switch value {
                case .null: continue
                case .number(let x) where x.isFinite: features[name] = .number(x)
                case .string(let s): features[name] = .string(s)
                default: throw .badRequest("features.\(name) must be a number or a string, got \(value.typeName)")
                }
            }
        case let other?:
            throw .badRequest("features must be an object of names to numbers or strings, got \(other.typeName)")
        }
        query = RecommendQuery(
            k: k, excludeSeen: excludeSeen,
            exclude: try Self.strings(object, "exclude") ?? [],
            include: try Self.strings(object, "include"),
            categories: try Self.strings(object, "categories"),
            features: features
        )
        query.exact = exact
    }

    /// The factor of an interaction's `type` (1 without one); an unknown type names the known ones.
    static func typeWeight(_ value: JSONValue?, _ eventTypes: [String: Float], at place: String) throws(RequestError) -> Float {
        switch value {
        case nil, .null?: return 1
        case .string(let name)?:
            guard let w = eventTypes[name] else {
                let known = eventTypes.keys.sorted()
                throw .badRequest("\(place).type '\(name)' is not a configured event type; known: \(known.isEmpty ? "none (event_types is empty)" : known.joined(separator: ", "))")
            }
            return w
        case let other?: throw .badRequest("\(place).type must be a string, got \(other.typeName)")
        }
    }

    static func strings(_ object: [String: JSONValue], _ key: String) throws(RequestError) -> Set<String>? {
        switch object[key] {
        case nil, .null?: return nil
        case .array(let list)?:
            var out = Set<String>()
            for (index, element) in list.enumerated() {
                switch element {
                case .string(let s): out.insert(s)
                case .number(let n) where n == n.rounded() && abs(n) < 1e15: out.insert(String(Int64(n)))
                default: throw .badRequest("\(key)[\(index)] must be a string or an integer of at most 15 digits")
                }
            }
            return out
        case let other?:
            throw .badRequest("\(key) must be an array of strings, got \(other.typeName)")
        }
    }

    static func describe(_ value: JSONValue) -> String {
        if case .number(let n) = value { return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n) }
        return value.typeName
    }
}
