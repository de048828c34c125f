import Foundation
import UnfoldData
import UnfoldModels

extension SoftmaxDNN {
    /// A schema from the features' values: numeric features standardized with their mean and
    /// standard deviation over users, categorical ones with every value seen at least
    /// `minCount` times (rarer values share the "unknown" row).
    public static func schema(_ values: [[String: FeatureValue]], kinds: [(name: String, kind: FeatureSpec.Kind)], dimensions: Int, minCount: Int = 1) -> [FeatureSpec] {
        kinds.map { name, kind in
            switch kind {
            case .numeric:
                let xs = values.compactMap { v -> Double? in if case .number(let x)? = v[name] { return x } else { return nil } }
                let mean = xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
                let variance = xs.isEmpty ? 1 : xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
                return .numeric(name, mean: Float(mean), std: Float(max(variance.squareRoot(), 1e-6)))
            case .categorical:
                var counts: [String: Int] = [:]
                for v in values { if case .string(let s)? = v[name] { counts[s, default: 0] += 1 } }
                return .categorical(name, values: counts.filter { $0.value >= minCount }.keys.sorted(), dimensions: dimensions)
            }
        }
    }

    /// The training users' feature values from a users file. `selection` lists the columns
    /// to use, each optionally typed (`age:numeric,gender,occupation:categorical`); nil takes
    /// every column. A column's type is otherwise RecBole's (`float` numeric, `token`
    /// categorical) or, without one, numeric when every value parses as a number.
    public static func features(_ file: UserFeatureFile, path: String, selection: String?, users: IDMap, dimensions: Int, minCount: Int = 1) throws(DataError) -> Features {
        var chosen: [(column: Int, kind: FeatureSpec.Kind)] = []
        let requests: [(name: String, kind: String?)] = selection.map {
            $0.split(separator: ",").map { part in
                let pieces = part.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                return (pieces[0].lowercased(), pieces.count > 1 ? pieces[1] : nil)
            }
        } ?? file.columns.map { ($0, nil) }
        for (name, explicit) in requests {
            guard let column = file.columns.firstIndex(of: name) else {
                throw .badHeader(path: path, reason: "no column '\(name)' (columns: \(file.columns.joined(separator: ", ")))")
            }
            let kind: FeatureSpec.Kind
            switch explicit ?? file.types[column] {
            case "numeric"?, "float"?: kind = .numeric
            case "categorical"?, "token"?: kind = .categorical
            case nil: kind = file.rows.values.allSatisfy({ $0[column].isEmpty || Double($0[column]) != nil }) ? .numeric : .categorical
            case let other?: throw .badHeader(path: path, reason: "feature '\(name)': type '\(other)' is not numeric or categorical")
            }
            chosen.append((column, kind))
        }
        let values: [[String: FeatureValue]] = users.ids.map { id in
            guard let row = file.rows[id] else { return [:] }
            var out: [String: FeatureValue] = [:]
            for (column, kind) in chosen where !row[column].isEmpty {
                let name = file.columns[column]
                switch kind {
                case .numeric: if let x = Double(row[column]) { out[name] = .number(x) }
                case .categorical: out[name] = .string(row[column])
                }
            }
            return out
        }
        let schema = Self.schema(values, kinds: chosen.map { (file.columns[$0.column], $0.kind) }, dimensions: dimensions, minCount: minCount)
        return Features(schema: schema, values: values)
    }
}
