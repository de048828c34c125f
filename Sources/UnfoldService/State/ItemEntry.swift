/// What the catalogue says of one item: shown as `GET /v1/items/{id}` shows it, stored as
/// one journal line. Fields left nil fall back to the model's items file (title, categories).
struct ItemEntry: Equatable, Sendable {
    var title: String?
    var categories: [String]?
    var hidden = false
    /// Seconds since the epoch after which the item is not recommended.
    var expiresAt: Double?
    var properties: [String: JSONValue]?
    /// `DELETE`: hidden for good; a later write is refused.
    var deleted = false
    var updatedAt: Double = 0

    static let maxTitleCharacters = 1000
    static let maxCategories = 100
    static let maxCategoryCharacters = 200
    static let maxPropertiesBytes = 65536
    static let fields: Set<String> = ["title", "categories", "hidden", "expires_at", "properties"]

    /// Whether a recommendation may return the item at `now`.
    func isHidden(at now: Double) -> Bool {
        deleted || hidden || (expiresAt.map { $0 <= now } ?? false)
    }

    /// Applies a request body: every field for PUT (absent ones reset), the present ones for
    /// PATCH (null resets a field).
    mutating func apply(_ object: [String: JSONValue], replacing: Bool) throws(RequestError) {
        if let unknown = object.keys.sorted().first(where: { !Self.fields.contains($0) }) {
            throw .badRequest("unknown field '\(unknown)'; known fields: \(Self.fields.sorted().joined(separator: ", "))")
        }
        if replacing { self = ItemEntry(updatedAt: updatedAt) }
        for (key, value) in object {
            switch (key, value) {
            case ("title", .null): title = nil
            case ("title", .string(let s)):
                guard s.count <= Self.maxTitleCharacters else { throw .badRequest("title is longer than \(Self.maxTitleCharacters) characters") }
                title = s
            case ("categories", .null): categories = nil
            case ("categories", .array(let list)):
                guard list.count <= Self.maxCategories else { throw .badRequest("at most \(Self.maxCategories) categories, got \(list.count)") }
                var out: [String] = []
                for (k, element) in list.enumerated() {
                    guard case .string(let c) = element, !c.isEmpty, c.count <= Self.maxCategoryCharacters else {
                        throw .badRequest("categories[\(k)] must be a string of 1 to \(Self.maxCategoryCharacters) characters")
                    }
                    if !out.contains(c) { out.append(c) }
                }
                categories = out
            case ("hidden", .null): hidden = false
            case ("hidden", .bool(let b)): hidden = b
            case ("expires_at", .null): expiresAt = nil
            case ("expires_at", .number(let t)) where t.isFinite: expiresAt = t
            case ("properties", .null): properties = nil
            case ("properties", .object(let members)):
                guard JSONValue.object(members).text.count <= Self.maxPropertiesBytes else {
                    throw .tooLarge("properties take more than \(Self.maxPropertiesBytes) bytes as JSON")
                }
                properties = members
            case ("title", _): throw .badRequest("title must be a string or null, got \(value.typeName)")
            case ("categories", _): throw .badRequest("categories must be an array of strings or null, got \(value.typeName)")
            case ("hidden", _): throw .badRequest("hidden must be a boolean, got \(value.typeName)")
            case ("expires_at", _): throw .badRequest("expires_at must be a number of seconds since the epoch or null, got \(value.typeName)")
            default: throw .badRequest("properties must be an object or null, got \(value.typeName)")
            }
        }
    }

    /// The entry as JSON members (the journal's and the API's shape).
    var json: [String: JSONValue] {
        var out: [String: JSONValue] = ["hidden": .bool(hidden), "deleted": .bool(deleted), "updated_at": .number(updatedAt)]
        if let title { out["title"] = .string(title) }
        if let categories { out["categories"] = .array(categories.map(JSONValue.string)) }
        if let expiresAt { out["expires_at"] = .number(expiresAt) }
        if let properties { out["properties"] = .object(properties) }
        return out
    }

    /// The journal's shape read back; nil when a field is not what `json` writes.
    init?(json object: [String: JSONValue]) {
        guard case .bool(let hidden)? = object["hidden"], case .bool(let deleted)? = object["deleted"],
              case .number(let updatedAt)? = object["updated_at"] else { return nil }
        self.hidden = hidden
        self.deleted = deleted
        self.updatedAt = updatedAt
        if case .string(let t)? = object["title"] { title = t }
        if case .array(let list)? = object["categories"] {
            categories = list.compactMap { if case .string(let c) = $0 { return c } else { return nil } }
        }
        if case .number(let t)? = object["expires_at"] { expiresAt = t }
        if case .object(let p)? = object["properties"] { properties = p }
    }

    init(updatedAt: Double = 0) {
        self.updatedAt = updatedAt
    }
}
