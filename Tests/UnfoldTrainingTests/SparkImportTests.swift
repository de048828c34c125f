import Foundation
import XCTest
import UnfoldData
import UnfoldMath
@testable import UnfoldModels
import UnfoldSnapshot
@testable import UnfoldTraining

/// The exchange directory (docs/spark.md) read, checked and imported. The files here are
/// written the way spark/unfold_als.py writes them; the end-to-end test runs the real job.
final class SparkImportTests: XCTestCase {
    var directory: String!

    override func setUp() {
        directory = NSTemporaryDirectory() + "unfold-spark-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct Fixture {
        var items: Matrix
        var itemIDs: [String]
        var counts: [Int]
        var bags: [[(Int32, Float)]]
        var users: Matrix
        var alpha = 2.0, lambda = 0.1
    }

    /// Items at random; each user's vector solved in Double from Spark's equation, as Spark's
    /// last user half-step computes it from the final item factors.
    func fixture(items n: Int = 50, d: Int = 8, users: Int = 12) -> Fixture {
        let items = Matrix.random(rows: n, cols: d, scale: 0.5, seed: 21)
        var rng = SplitMix64(seed: 5)
        var bags: [[(Int32, Float)]] = []
        var counts = [Int](repeating: 0, count: n)
        for _ in 0..<users {
            var chosen: [Int32: Float] = [:]
            for _ in 0..<(3 + Int(rng.next() % 8)) { chosen[Int32(rng.next() % UInt64(n)), default: 0] += Float(1 + rng.next() % 4) }
            let bag = chosen.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            for (i, _) in bag { counts[Int(i)] += 1 }
            bags.append(bag)
        }
        var f = Fixture(items: items, itemIDs: (0..<n).map { "item-\($0)-é" }, counts: counts, bags: bags, users: Matrix(rows: users, cols: d, storage: []))
        var storage: [Float] = []
        for bag in bags { storage += sparkUser(f, bag).map(Float.init) }
        f.users = Matrix(rows: users, cols: d, storage: storage)
        return f
    }

    func sparkUser(_ f: Fixture, _ bag: [(Int32, Float)]) -> [Double] {
        let d = f.items.cols
        var a = [Double](repeating: 0, count: d * d), b = [Double](repeating: 0, count: d)
        for i in 0..<f.items.rows { for r in 0..<d { for c in 0..<d { a[r * d + c] += Double(f.items[i, r]) * Double(f.items[i, c]) } } }
        for r in 0..<d { a[r * d + r] += f.lambda * Double(bag.filter { $0.1 > 0 }.count) }
        for (i, w) in bag {
            let v = (0..<d).map { Double(f.items[Int(i), $0]) }
            for r in 0..<d { for c in 0..<d { a[r * d + c] += f.alpha * Double(abs(w)) * v[r] * v[c] } }
            if w > 0 { for r in 0..<d { b[r] += (1 + f.alpha * Double(w)) * v[r] } }
        }
        return solveDouble(a, b, d)
    }

    func bytes(_ m: Matrix) -> [UInt8] {
        m.storage.flatMap { v -> [UInt8] in let bits = v.bitPattern.littleEndian; return (0..<4).map { UInt8((bits >> (8 * $0)) & 0xFF) } }
    }

    /// Writes the exchange directory; `edit` changes the metadata object before it is written.
    @discardableResult
    func write(_ f: Fixture, to dir: String, edit: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func put(_ name: String, _ data: [UInt8]) throws { try Data(data).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        let items = Array(zip(f.itemIDs, f.counts).map { "\($0)\t\($1)\n" }.joined().utf8)
        let users = Array((0..<f.users.rows).map { "user-\($0)\t\(f.bags[$0].count)\n" }.joined().utf8)
        let itemFactors = bytes(f.items), userFactors = bytes(f.users)
        try put("items.tsv", items)
        try put("users.tsv", users)
        try put("item_factors.f32", itemFactors)
        try put("user_factors.f32", userFactors)
        var metadata: [String: Any] = [
            "format": "unfold-spark-als", "format_version": 1, "spark_version": "3.5.3", "created_at": "2026-12-01T00:00:00Z", "objective": "als-wr",
            "hyperparameters": ["factors": f.items.cols, "regularization": f.lambda, "alpha": f.alpha, "iterations": 10, "seed": 42, "implicit_prefs": true, "nonnegative": false],
            "data": ["source": "/data/train.tsv", "format": "tsv", "records": 100, "skipped": 0, "cells": 90, "positive_cells": 90, "users": 120,
                     "items": f.items.rows, "fingerprint": "64-0123abcd"],
            "files": [
                "items": ["name": "items.tsv", "rows": f.items.rows, "bytes": items.count, "crc32": ChecksummedLine.crc(items)],
                "item_factors": ["name": "item_factors.f32", "rows": f.items.rows, "cols": f.items.cols, "bytes": itemFactors.count, "crc32": ChecksummedLine.crc(itemFactors)],
                "users": ["name": "users.tsv", "rows": f.users.rows, "bytes": users.count, "crc32": ChecksummedLine.crc(users)],
                "user_factors": ["name": "user_factors.f32", "rows": f.users.rows, "cols": f.users.cols, "bytes": userFactors.count, "crc32": ChecksummedLine.crc(userFactors)],
            ],
            "evaluation": ["ndcg@10": 0.2, "recall@10": 0.25, "users": 10],
            "training_seconds": 3.5,
        ]
        edit(&metadata)
        try put("metadata.json", [UInt8](try JSONSerialization.data(withJSONObject: metadata)))
        return dir
    }

    /// Imported, the snapshot's fold-in reproduces every user's Spark vector (the parity the
    /// end-to-end test checks against real Spark), with Spark's counts as popularity, its
    /// metrics kept as spark_*, and a recipe that trains on Spark again.
    func testImportedModelFoldsInToSparksUserVectors() throws {
        let f = fixture()
        let dir = try write(f, to: directory + "/exchange")
        for location in [dir, "file://" + dir] {
            let exchange = try SparkExchange.read(location)
            XCTAssertEqual(exchange.itemIDs, f.itemIDs)
            XCTAssertEqual(exchange.userIDs.count, f.users.rows)
            let spec = try SparkImporter.recipe(exchange, name: "spark", test: nil, items: nil)
            XCTAssertEqual(spec.engine, .spark)
            let out = directory + "/snapshots"
            let outcome = try SparkImporter(exchange: exchange, spec: spec, output: out, reporter: ProgressReporter(mode: .none)).run()
            let model = try Snapshot.open(path: outcome.path).model
            XCTAssertEqual(model.popularity, f.counts.map(Float.init))
            XCTAssertEqual(model.metadata.evaluation["spark_ndcg@10"], 0.2)
            XCTAssertNil(model.metadata.evaluation["ndcg@10"], "no test data: no evaluation through serving")
            XCTAssertEqual(model.metadata.imported?.from, "spark-als")
            XCTAssertEqual(model.metadata.recipe?.engine, .spark)
            XCTAssertEqual(model.metadata.data.fingerprint, "64-0123abcd")
            guard case .foldIn(let foldIn) = model.encoder else { return XCTFail("no fold-in") }
            XCTAssertEqual(foldIn.objective, .alsWR)
            XCTAssertNotNil(foldIn.userGram)
            var worst = 0.0
            for (u, bag) in f.bags.enumerated() {
                var query = ItemBag(distinct: bag.map(\.0), weights: bag.map(\.1))
                query.ordered = false
                let q = try XCTUnwrap(foldIn.encode(items: model.items.matrix, bag: query))
                let expected = (0..<f.users.cols).map { f.users[u, $0] }
                let norm = expected.reduce(0) { $0 + $1 * $1 }.squareRoot()
                worst = max(worst, Double(zip(q, expected).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() / norm))
            }
            XCTAssertLessThan(worst, 1e-4, "relative error of the folded-in user vectors")
        }
    }

    /// Every damaged or foreign directory is refused with a message naming the file and check.
    func testBadExchangeDirectoriesAreRefused() throws {
        let f = fixture()
        func refused(_ name: String, _ expected: String, prepare: (String) throws -> Void) throws {
            let dir = directory + "/" + name
            try prepare(dir)
            XCTAssertThrowsError(try SparkExchange.read(dir), name) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(name): \(error)")
            }
        }
        try refused("no-metadata", "cannot read") { dir in
            try write(f, to: dir)
            try FileManager.default.removeItem(atPath: dir + "/metadata.json")
        }
        try refused("version", "format_version 2 is not supported") { try write(f, to: $0) { $0["format_version"] = 2 } }
        try refused("foreign", "format is 'parquet'") { try write(f, to: $0) { $0["format"] = "parquet" } }
        try refused("nonnegative", "nonnegative true") { dir in
            try write(f, to: dir) { m in
                var h = m["hyperparameters"] as! [String: Any]
                h["nonnegative"] = true
                m["hyperparameters"] = h
            }
        }
        try refused("crc", "item_factors.f32: CRC-32 mismatch") { dir in
            try write(f, to: dir)
            var data = try Data(contentsOf: URL(fileURLWithPath: dir + "/item_factors.f32"))
            data[17] ^= 0x20
            try data.write(to: URL(fileURLWithPath: dir + "/item_factors.f32"))
        }
        try refused("truncated", "item_factors.f32: 1596 bytes, the metadata says 1600") { dir in
            try write(f, to: dir)
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/item_factors.f32"))
            try data.prefix(1596).write(to: URL(fileURLWithPath: dir + "/item_factors.f32"))
        }
        try refused("shape", "expected 50x8") { dir in
            try write(f, to: dir) { m in
                var files = m["files"] as! [String: Any]
                var info = files["item_factors"] as! [String: Any]
                info["cols"] = 9
                files["item_factors"] = info
                m["files"] = files
            }
        }
        try refused("duplicate", "items.tsv:2: id 'item-0-é' appears twice") { dir in
            var g = f
            g.itemIDs[1] = g.itemIDs[0]
            try write(g, to: dir)
        }
        try refused("nan", "user_factors.f32: holds NaN or infinity") { dir in
            var g = f
            g.users.storage[3] = .nan
            try write(g, to: dir)
        }
        try refused("escape", "must be a plain name") { dir in
            try write(f, to: dir) { m in
                var files = m["files"] as! [String: Any]
                var info = files["items"] as! [String: Any]
                info["name"] = "../items.tsv"
                files["items"] = info
                m["files"] = files
            }
        }
    }

    /// Engine spark fixes Spark's objective and refuses what it cannot do, naming it; the
    /// spec (with its engine) survives JSON as the recipe does.
    func testSparkSpecs() throws {
        let data = DataSource(path: "hdfs://namenode/interactions.tsv", test: "data/test.tsv")
        let spec = try TrainingSpec(kind: .wals, values: ["factors": .number(32)], data: data, engine: .spark)
        let p = try XCTUnwrap(spec.parameters as? WALSParameters)
        XCTAssertEqual(p.regularizationMode, .alsWR)
        XCTAssertEqual(p.unobservedWeight, 1)
        XCTAssertEqual(p.recencyBoost, 0)
        XCTAssertEqual(p.factors, 32)
        let back = try JSONDecoder().decode(TrainingSpec.self, from: JSONEncoder().encode(spec))
        XCTAssertEqual(back, spec)
        XCTAssertEqual(back.engine, .spark)
        func refused(_ kind: ModelKind, _ values: [String: ParameterValue], _ expected: String, data: DataSource = data) {
            XCTAssertThrowsError(try TrainingSpec(kind: kind, values: values, data: data, engine: .spark)) { error in
                XCTAssertTrue((error as? ParameterError)?.message.contains(expected) ?? false, "\(error)")
            }
        }
        refused(.softmax, [:], "engine spark trains wals")
        refused(.wals, ["unobserved_weight": .number(3)], "unobserved_weight 1")
        refused(.wals, ["regularization_mode": .string("scaled")], "regularization_mode als-wr")
        refused(.wals, [:], "not the interaction log", data: DataSource(path: "x.tsv", log: "log"))
        var tuned = spec
        tuned.tune = TuningRequest()
        XCTAssertThrowsError(try tuned.validate())
    }
}
