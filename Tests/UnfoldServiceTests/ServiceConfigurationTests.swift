import XCTest
@testable import UnfoldService

final class ServiceConfigurationTests: XCTestCase {
    func testDefaultsWithoutAFile() throws {
        let configuration = try ServiceConfiguration.load(file: nil, environment: [:])
        XCTAssertEqual(configuration, ServiceConfiguration())
        XCTAssertEqual(configuration.httpServer.port, 8080)
        XCTAssertEqual(configuration.httpServer.connection.headerTimeout, 10_000_000_000)
    }

    func testEnvironmentAndFlags() throws {
        let configuration = try ServiceConfiguration.load(
            file: nil,
            environment: ["UNFOLD_PORT": "9000", "UNFOLD_IDLE_TIMEOUT_SECONDS": "2.5", "UNRELATED": "x"],
            flags: [(key: "port", flag: "--port", value: "9001")]
        )
        XCTAssertEqual(configuration.port, 9001)
        XCTAssertEqual(configuration.idleTimeoutSeconds, 2.5)
    }

    func testEveryKeyHasAFlagAndAnEnvironmentName() {
        for key in ConfigurationKey.all {
            XCTAssertEqual(key.environmentName, "UNFOLD_" + key.name.uppercased())
            XCTAssertTrue(key.flagName.hasPrefix("--"))
        }
        XCTAssertEqual(Set(ConfigurationKey.all.map(\.name)).count, ConfigurationKey.all.count)
    }

    func testRangeChecks() {
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: ["UNFOLD_PORT": "70000"])) { error in
            XCTAssertEqual(error as? ConfigurationError, .badValue(key: "port", .environment("UNFOLD_PORT"), reason: "70000 is outside 0...65535"))
        }
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: ["UNFOLD_HEADER_TIMEOUT_SECONDS": "nan"]))
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: ["UNFOLD_HOST": ""]))
    }
}

/// The key table is the one source: the docs' table and the shipped config file follow it.
final class ConfigurationTableTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testTheDocsTableIsTheKeyTable() throws {
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let table = docs.split(separator: "\n", omittingEmptySubsequences: false).filter { $0.hasPrefix("| ") }.joined(separator: "\n")
        XCTAssertEqual(table, ServiceConfiguration.markdownTable, "docs/configuration.md's table differs from ConfigurationKey.all; paste ServiceConfiguration.markdownTable")
    }

    func testTheShippedConfigFileHasEveryKeyWithItsDefault() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("Config/unfold.json"))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), Set(ConfigurationKey.all.map(\.name)))
        XCTAssertEqual(try ServiceConfiguration.load(file: Self.root.appendingPathComponent("Config/unfold.json").path, environment: [:]), ServiceConfiguration())
    }

    func testFlagsAreParsedFromTheTable() throws {
        let c = try ServiceConfiguration.load(file: nil, environment: [:], arguments: ["--port", "9", "--log-level=debug", "--max-body-bytes", "100"])
        XCTAssertEqual(c.port, 9)
        XCTAssertEqual(c.logLevel, "debug")
        XCTAssertEqual(c.maxBodyBytes, 100)
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: [:], arguments: ["--max-bodybytes", "1"])) {
            XCTAssertEqual($0 as? ConfigurationError, .unknownKey("max_bodybytes", .flag("--max-bodybytes")))
        }
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: [:], arguments: ["--port"]))
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: [:], arguments: ["9"]))
    }
}
