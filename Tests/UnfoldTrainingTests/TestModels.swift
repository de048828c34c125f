import UnfoldMath
import UnfoldModels
import UnfoldServing

/// A served model over a given item table (ids "0", "1", …), for tests that rank with
/// vectors of their own.
func servedModel(_ items: Matrix, encoder: QueryEncoder = .meanPooling, popularity: [Float]? = nil) -> ServedModel {
    let ids = (0..<items.rows).map(String.init)
    let metadata = ModelMetadata(name: "test", kind: "item2vec", version: 1, createdAt: "", hyperparameters: [:], solver: nil,
                                 data: .init(source: "", fingerprint: "", users: 0, items: items.rows, interactions: 0))
    let model = Model(kind: .item2vec, version: 1, createdAt: 0, items: ItemTable(ids: ids, vectors: items), encoder: encoder,
                      popularity: popularity ?? [Float](repeating: 0, count: items.rows), metadata: metadata)
    return ServedModel(name: "test", model: model)
}

/// A matrix from rows.
func matrix(_ rows: [[Float]]) -> Matrix {
    Matrix(rows: rows.count, cols: rows.first?.count ?? 0, storage: rows.flatMap { $0 })
}
