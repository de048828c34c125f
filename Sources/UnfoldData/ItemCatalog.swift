/// What a person sees of an item: its title and categories, by external id.
public struct ItemCatalog: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, Codable {
        public var title: String?
        public var categories: [String]
        public init(title: String?, categories: [String]) {
            self.title = title
            self.categories = categories
        }
    }

    public var entries: [String: Entry] = [:]

    public init(entries: [String: Entry] = [:]) { self.entries = entries }

    public subscript(id: String) -> Entry? { entries[id] }

    /// Reads a TSV items file with a header naming an id column (`item`, `item_id`, `id`)
    /// and optionally a title (`title`, `movie_title`, `name`) and categories (`categories`,
    /// `genres`, `class`). Categories are split on `|`, or on spaces for RecBole's
    /// `:token_seq` columns (as in `ml-100k.item`).
    public static func read(path: String) throws(DataError) -> ItemCatalog {
        var catalog = ItemCatalog()
        var idColumn = 0, titleColumn: Int?, categoryColumn: Int?, categoriesBySpace = false
        try forEachTabSeparatedRow(path: path, header: { (fields: [String]) throws(DataError) in
            let names = fields.map { $0.split(separator: ":").first.map { String($0).lowercased() } ?? "" }
            guard let id = names.firstIndex(where: { ["item", "item_id", "id", "movie_id"].contains($0) }) else {
                throw .badHeader(path: path, reason: "items file needs a header with an id column (item, item_id or id)")
            }
            idColumn = id
            titleColumn = names.firstIndex { ["title", "movie_title", "name"].contains($0) }
            categoryColumn = names.firstIndex { ["categories", "genres", "genre", "class"].contains($0) }
            if let c = categoryColumn { categoriesBySpace = fields[c].hasSuffix(":token_seq") }
        }, row: { (number: Int, fields: [String]) throws(DataError) in
            guard idColumn < fields.count, !fields[idColumn].isEmpty else {
                throw .badLine(path: path, line: number, reason: "missing item id")
            }
            let title = titleColumn.flatMap { $0 < fields.count && !fields[$0].isEmpty ? fields[$0] : nil }
            var categories: [String] = []
            if let c = categoryColumn, c < fields.count {
                categories = fields[c].split(separator: categoriesBySpace ? " " : "|").map(String.init).filter { !$0.isEmpty }
            }
            catalog.entries[fields[idColumn]] = Entry(title: title, categories: categories)
        })
        return catalog
    }
}
