/// A users file: one row per user with a header naming an id column (`user`, `user_id`, `id`)
/// and feature columns, tab-separated (gzip allowed). RecBole headers carry a type after a
/// colon (`age:float`, `gender:token`), kept in `types` ("float"/"token", nil without one).
/// As in `ml-100k.user`.
public struct UserFeatureFile: Sendable, Equatable {
    public var columns: [String]
    public var types: [String?]
    /// Per user id, the raw values in `columns` order ("" when the row is short).
    public var rows: [String: [String]]

    public init(columns: [String], types: [String?], rows: [String: [String]]) {
        self.columns = columns
        self.types = types
        self.rows = rows
    }

    public static func read(path: String) throws(DataError) -> UserFeatureFile {
        var idColumn = 0
        var columns: [String] = [], types: [String?] = [], featureColumns: [Int] = []
        var rows: [String: [String]] = [:]
        try forEachTabSeparatedRow(path: path, header: { (fields: [String]) throws(DataError) in
            let parts = fields.map { $0.split(separator: ":", maxSplits: 1).map(String.init) }
            let names = parts.map { ($0.first ?? "").lowercased() }
            guard let id = names.firstIndex(where: { ["user", "user_id", "id"].contains($0) }) else {
                throw .badHeader(path: path, reason: "users file needs a header with an id column (user, user_id or id)")
            }
            idColumn = id
            featureColumns = names.indices.filter { $0 != id }
            columns = featureColumns.map { names[$0] }
            types = featureColumns.map { parts[$0].count > 1 ? parts[$0][1] : nil }
        }, row: { (number: Int, fields: [String]) throws(DataError) in
            guard idColumn < fields.count, !fields[idColumn].isEmpty else {
                throw .badLine(path: path, line: number, reason: "missing user id")
            }
            rows[fields[idColumn]] = featureColumns.map { $0 < fields.count ? fields[$0] : "" }
        })
        return UserFeatureFile(columns: columns, types: types, rows: rows)
    }
}
