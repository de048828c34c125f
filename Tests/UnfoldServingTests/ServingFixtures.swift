import Foundation
import UnfoldMath
import UnfoldModels
import UnfoldSnapshot
@testable import UnfoldServing

/// Small models built in memory: a fold-in model over planted rows, with attributes.
enum Fixtures {
    static func metadata(_ name: String, kind: ModelKind, ndcg: Double?) -> ModelMetadata {
        ModelMetadata(name: name, kind: kind.name, version: 1, createdAt: "2026-11-30T00:00:00Z", hyperparameters: [:], solver: nil,
                      data: .init(source: "test", fingerprint: "f", users: 10, items: 8, interactions: 40), evaluation: ndcg.map { ["ndcg@10": $0] } ?? [:])
    }

    /// 8 items in two groups: items 0–3 along e0, 4–7 along e1 (with a little of the other
    /// axis), popularity 8, 7, …, 1, categories "a" (even) and "b" (odd).
    static func model(name: String = "wals", version: UInt64 = 1, ndcg: Double? = 0.2, encoder: QueryEncoder? = nil, kind: ModelKind = .wals) -> Model {
        var rows: [[Float]] = []
        for i in 0..<8 { rows.append(i < 4 ? [1 + 0.1 * Float(i), 0.05 * Float(i)] : [0.05 * Float(i), 1 + 0.1 * Float(i)]) }
        let items = Matrix(rows: 8, cols: 2, storage: rows.flatMap { $0 })
        let table = ItemTable(ids: (0..<8).map { "i\($0)" }, vectors: items)
        var attributes: [String: ItemAttributes] = [:]
        for i in 0..<8 { attributes["i\(i)"] = ItemAttributes(title: "Item \(i)", categories: [i % 2 == 0 ? "a" : "b"]) }
        var meta = metadata(name, kind: kind, ndcg: ndcg)
        meta.version = version
        return Model(kind: kind, version: version, createdAt: 0, items: table,
                     encoder: encoder ?? .foldIn(FoldIn(items: items, alpha: 1, unobservedWeight: 0.1, regularization: 0.1)),
                     popularity: (0..<8).map { Float(8 - $0) }, neighbours: NeighbourLists.cosine(table, k: 3), metadata: meta, attributes: attributes)
    }

    static func served(_ model: Model = model()) -> ServedModel { ServedModel(name: model.metadata.name, model: model) }
}
