import XCTest
@testable import UnfoldModels

final class ParameterTests: XCTestCase {
    func testDefaultsAndValuesByName() throws {
        let p = try WALSParameters(values: ["factors": .number(32), "solver": .string("cg"), "alpha": .text("2.5")])
        XCTAssertEqual(p.factors, 32)
        XCTAssertEqual(p.solver, .cg)
        XCTAssertEqual(p.alpha, 2.5, "a flag's text converts")
        XCTAssertEqual(p.iterations, WALSParameters().iterations, "unset: the default")
    }

    func testBadValuesNameTheParameterAndWhatItAccepts() {
        XCTAssertThrowsError(try WALSParameters(values: ["factors": .number(1.5)])) {
            XCTAssertEqual("\($0)", "parameter 'factors' must be a whole number within 1...1024, got 1.5")
        }
        XCTAssertThrowsError(try WALSParameters(values: ["factors": .text("many")])) {
            XCTAssertEqual("\($0)", "parameter 'factors' must be a whole number within 1...1024, got 'many'")
        }
        XCTAssertThrowsError(try WALSParameters(values: ["factors": .string("64")]), "a JSON string is not a number") {
            XCTAssertEqual("\($0)", "parameter 'factors' must be a whole number within 1...1024, got \"64\"")
        }
        XCTAssertThrowsError(try CommonParameters(values: ["eval_every_epoch": .string("true")]), "a JSON string is not a boolean")
        XCTAssertEqual(try CommonParameters(values: ["eval_every_epoch": .text("true")]).evalEveryEpoch, true, "a flag's text is")
        XCTAssertEqual(try SoftmaxParameters(values: ["hidden": .string("")]).hidden, [])
        XCTAssertEqual(try SoftmaxParameters(values: ["hidden": .number(32)]).hidden, [32])
        for bad in ["1, 2", "01", "1,,2", "0", "4097", "a"] {
            XCTAssertThrowsError(try SoftmaxParameters(values: ["hidden": .string(bad)]), bad)
        }
        XCTAssertThrowsError(try WALSParameters(values: ["solver": .string("lu")])) {
            XCTAssertEqual("\($0)", "parameter 'solver' must be one of cholesky, cg, got \"lu\"")
        }
        XCTAssertThrowsError(try WALSParameters(values: ["regularization": .number(-1)])) {
            XCTAssertTrue("\($0)".hasPrefix("parameter 'regularization' must be a number within 0.0..."), "\($0)")
        }
        XCTAssertThrowsError(try WALSParameters(values: ["epochs": .number(3)])) {
            XCTAssertTrue("\($0)".hasPrefix("unknown parameter 'epochs'; known: alpha, cg_steps, factors"), "\($0)")
        }
    }

    func testSpecSplitsKindAndCommonParametersAndRefusesOthers() throws {
        let data = DataSource(path: "train.tsv", test: "test.tsv")
        let spec = try TrainingSpec(kind: .mfSGD, values: ["factors": .number(16), "seed": .number(7), "sampler": .string("in-batch"), "batch_size": .number(64)], data: data)
        XCTAssertEqual(spec.name, "mf-sgd")
        XCTAssertEqual((spec.parameters as? MFSGDParameters)?.factors, 16)
        XCTAssertEqual((spec.parameters as? MFSGDParameters)?.sampler, .inBatch)
        XCTAssertEqual(spec.common.seed, 7)
        XCTAssertThrowsError(try TrainingSpec(kind: .wals, values: ["window": .number(3)], data: data)) {
            XCTAssertTrue("\($0)".hasPrefix("unknown parameter 'window' for model kind 'wals'; known: alpha, ann_min_items, cg_steps, eval_every_epoch, factors"), "\($0)")
        }
        XCTAssertThrowsError(try TrainingSpec(kind: .mfSGD, values: ["sampler": .string("in-batch")], data: data)) {
            XCTAssertEqual("\($0)", "sampler in-batch needs batch_size of at least 2")
        }
        XCTAssertThrowsError(try TrainingSpec(kind: .wals, values: ["eval_every_epoch": .bool(true)], data: DataSource(path: "t"))) {
            XCTAssertEqual("\($0)", "eval_every_epoch needs test data (a test file or a holdout)")
        }
    }

    func testSpecRoundTripsThroughJSON() throws {
        let spec = try TrainingSpec(kind: .softmax, name: "dnn", values: ["hidden": .string("256,128"), "user_features": .string("u.tsv"), "k": .number(20)],
                                    data: DataSource(path: "train.tsv", items: "items.tsv", log: "data/log"))
        let decoded = try JSONDecoder().decode(TrainingSpec.self, from: JSONEncoder().encode(spec))
        XCTAssertEqual(decoded, spec)
        XCTAssertEqual((decoded.parameters as? SoftmaxParameters)?.hidden, [256, 128])
        XCTAssertEqual(decoded.common.k, 20)
        XCTAssertThrowsError(try JSONDecoder().decode(TrainingSpec.self, from: Data(#"{"model":"wals","params":{"factors":0},"data":{"path":"x"}}"#.utf8))) {
            guard case DecodingError.dataCorrupted(let context) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(context.debugDescription, "parameter 'factors' must be a whole number within 1...1024, got 0")
        }
        XCTAssertThrowsError(try JSONDecoder().decode(TrainingSpec.self, from: Data(#"{"model":"lda","data":{"path":"x"}}"#.utf8)))
    }

    func testEveryKindIsRegisteredOnceWithItsParameters() {
        XCTAssertEqual(ModelKind.names, ["wals", "mf-sgd", "softmax", "item2vec"])
        XCTAssertEqual(Set(ModelKind.all.map(\.rawValue)).count, ModelKind.all.count, "snapshot ids are unique")
        for kind in ModelKind.all {
            XCTAssertEqual(ModelKind(name: kind.name), kind)
            XCTAssertEqual(ModelKind(rawValue: kind.rawValue), kind)
            XCTAssertTrue(kind.parameters.parameterNames.contains("factors"), kind.name)
            XCTAssertEqual(Set(kind.parameters.parameterNames).intersection(CommonParameters.parameterNames), [], "\(kind.name) shadows a common parameter")
        }
    }
}
