import Dispatch
import UnfoldData
import UnfoldMath
import UnfoldModels
import UnfoldServing

extension Evaluation {
    /// The folding rate at k, on data with planted groups: of the top-k recommendations of
    /// every user with at least one training interaction (training items removed), the
    /// share that falls outside the user's own group. After Xin et al., "Folding: why good
    /// models sometimes make spurious recommendations" (RecSys 2017): a model that folds
    /// places unrelated groups in the same region of the space and mixes them in its lists.
    /// A model that keeps the groups apart scores near the noise floor of the data (the
    /// share of training interactions that are themselves cross-group).
    public static func foldingRate(_ model: ServedModel, train: CSRMatrix, userGroups: [Int32], itemGroups: [Int32], k: Int, lists: Lists = .served(features: nil),
                                   threads: Int = defaultThreadCount) -> Double {
        let users = (0..<train.rows).filter { train.rowCount($0) > 0 && userGroups[$0] >= 0 }
        let workers = max(1, min(threads, users.count))
        let ungrouped = Set((0..<model.itemCount).filter { itemGroups[$0] < 0 }.map { model.id($0) })
        var outside = [Int](repeating: 0, count: workers), total = [Int](repeating: 0, count: workers)
        outside.withUnsafeMutableBufferPointer { out in
            total.withUnsafeMutableBufferPointer { all in
                forEachList(model, users: users, train: train, k: k, lists: lists, excluded: ungrouped, workers: workers) { worker, u, list in
                    for item in list {
                        all[worker] += 1
                        if itemGroups[item] != userGroups[u] { out[worker] += 1 }
                    }
                }
            }
        }
        let n = total.reduce(0, +)
        return n > 0 ? Double(outside.reduce(0, +)) / Double(n) : 0
    }

    /// The mean positive excess of cross-group scores over within-group relatedness: for a
    /// user u with scores s_u over the items not in u's training row, m_u the mean score of
    /// the items of u's own group and σ_u the standard deviation of all of u's scores,
    ///
    ///     excess(u) = mean over items j outside u's group of max(0, (s_uj − m_u) / σ_u)
    ///
    /// averaged over users. Scale-free (scores of WALS and of BPR live on different scales);
    /// 0 when every cross-group item scores below the user's typical in-group item, and
    /// large when unrelated groups are folded onto each other. Scores are the served query's
    /// (`lists` .served) or a trained vector's (.vectors), against every item.
    public static func foldingExcess(_ model: ServedModel, train: CSRMatrix, userGroups: [Int32], itemGroups: [Int32], lists: Lists = .served(features: nil),
                                     threads: Int = defaultThreadCount) -> Double {
        let users = (0..<train.rows).filter { train.rowCount($0) > 0 && userGroups[$0] >= 0 }
        let workers = max(1, min(threads, users.count))
        let n = model.itemCount, d = model.dimensions
        let table = model.model.items.vectors.base, bias = model.model.encoder.itemBias
        var sums = [Double](repeating: 0, count: workers), counts = [Int](repeating: 0, count: workers)
        sums.withUnsafeMutableBufferPointer { sumOut in
            counts.withUnsafeMutableBufferPointer { countOut in
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var scores = [Float](repeating: 0, count: n)
                    var inTrain = [Bool](repeating: false, count: n)
                    var position = worker
                    while position < users.count {
                        let u = users[position]
                        position += workers
                        let row = train.indices[train.rowRange(u)]
                        let q: [Float]?
                        switch lists {
                        case .served(let features):
                            let input = (try? model.model.encoder.features(features?[u] ?? [:])) ?? .none
                            q = Recommender.encode(ItemBag(row: u, of: train), features: input, with: model)
                        case .vectors(let vectors):
                            q = Array(vectors.row(u))
                        case .popularity:
                            q = nil
                        }
                        guard let q else { continue }
                        q.withUnsafeBufferPointer { qp in
                            scores.withUnsafeMutableBufferPointer { sp in
                                matrixVector(table, rows: n, cols: d, qp.baseAddress!, into: sp.baseAddress!)
                                if let bias { for i in 0..<n { sp[i] += bias[i] } }
                            }
                        }
                        for i in row { inTrain[Int(i)] = true }
                        var own = 0.0, ownCount = 0, sum = 0.0, squares = 0.0, all = 0
                        for i in 0..<n where !inTrain[i] && itemGroups[i] >= 0 {
                            let s = Double(scores[i])
                            sum += s
                            squares += s * s
                            all += 1
                            if itemGroups[i] == userGroups[u] { own += s; ownCount += 1 }
                        }
                        if ownCount > 0 && all > ownCount {
                            let mean = own / Double(ownCount)
                            let sigma = max((squares / Double(all) - (sum / Double(all)) * (sum / Double(all))).squareRoot(), 1e-12)
                            var excess = 0.0
                            for i in 0..<n where !inTrain[i] && itemGroups[i] >= 0 && itemGroups[i] != userGroups[u] {
                                excess += max(0, (Double(scores[i]) - mean) / sigma)
                            }
                            sumOut[worker] += excess / Double(all - ownCount)
                            countOut[worker] += 1
                        }
                        for i in row { inTrain[Int(i)] = false }
                    }
                }
            }
        }
        let total = counts.reduce(0, +)
        return total > 0 ? sums.reduce(0, +) / Double(total) : 0
    }
}

/// The ground truth of `unfold generate --groups-out`: `kind id group` lines.
public struct PlantedGroups: Sendable {
    public var users: [String: Int32] = [:]
    public var items: [String: Int32] = [:]

    public static func read(path: String) throws(DataError) -> PlantedGroups {
        let bytes = try readFileBytes(path: path)
        var groups = PlantedGroups()
        var lineNumber = 0
        for line in bytes.split(separator: 0x0A) {
            lineNumber += 1
            let fields = line.split(separator: 0x09).map { String(decoding: $0, as: UTF8.self) }
            if lineNumber == 1 && fields.first == "kind" { continue }
            guard fields.count == 3, let g = Int32(fields[2]) else { throw .badLine(path: path, line: lineNumber, reason: "expected 'kind id group'") }
            switch fields[0] {
            case "user": groups.users[fields[1]] = g
            case "item": groups.items[fields[1]] = g
            default: throw .badLine(path: path, line: lineNumber, reason: "kind must be user or item")
            }
        }
        return groups
    }

    /// Group per index of an id space; −1 where unknown.
    public static func align(_ map: [String: Int32], to ids: [String]) -> [Int32] {
        ids.map { map[$0] ?? -1 }
    }
}
