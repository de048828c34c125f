import Foundation

/// How an interaction file is laid out, from its name.
public enum InteractionFormat: String, Sendable, CaseIterable {
    case tsv, csv, jsonl

    /// `.csv` → CSV, `.jsonl`/`.ndjson`/`.json` → JSON Lines, anything else (`.tsv`,
    /// `.inter`, ...) → TSV; a trailing `.gz` is ignored (compression is detected by content).
    public static func guess(fromPath path: String) -> InteractionFormat {
        var name = path.lowercased()
        if name.hasSuffix(".gz") { name.removeLast(3) }
        if name.hasSuffix(".csv") { return .csv }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return .jsonl }
        return .tsv
    }
}

/// Which column holds what, from a header line or the default order.
struct ColumnLayout: Equatable {
    var user: Int
    var item: Int
    var weight: Int?
    var timestamp: Int?

    static let positional = ColumnLayout(user: 0, item: 1, weight: 2, timestamp: 3)

    static let userNames: Set<String> = ["user", "user_id", "userid", "uid"]
    static let itemNames: Set<String> = ["item", "item_id", "itemid", "iid", "movie_id"]
    static let weightNames: Set<String> = ["weight", "rating", "value", "count", "score"]
    static let timestampNames: Set<String> = ["timestamp", "time", "ts"]

    /// What the first line that is neither empty nor a comment decides: a header names the
    /// columns (and is not a record); otherwise the default order, with timestamps when that
    /// line has more than three fields.
    static func decide(_ fields: [String], path: String) throws(DataError) -> (layout: ColumnLayout, hasTimestamps: Bool, isHeader: Bool) {
        if let header = try header(fields, path: path) { return (header, header.timestamp != nil, true) }
        return (.positional, fields.count > 3, false)
    }

    /// A header is a first line naming a user column: `user item weight timestamp`, or
    /// RecBole's atomic form `user_id:token item_id:token rating:float timestamp:float`.
    static func header(_ fields: [String], path: String) throws(DataError) -> ColumnLayout? {
        let names = fields.map { field -> String in
            let base = field.split(separator: ":", maxSplits: 1).first.map(String.init) ?? field
            return base.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard names.contains(where: { userNames.contains($0) }) else { return nil }
        guard let user = names.firstIndex(where: { userNames.contains($0) }) else { return nil }
        guard let item = names.firstIndex(where: { itemNames.contains($0) }) else {
            throw .badHeader(path: path, reason: "header names a user column but no item column (one of \(itemNames.sorted().joined(separator: ", ")))")
        }
        return ColumnLayout(
            user: user, item: item,
            weight: names.firstIndex { weightNames.contains($0) },
            timestamp: names.firstIndex { timestampNames.contains($0) }
        )
    }
}
