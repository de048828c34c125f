import XCTest
import Logging
import UnfoldModels
@testable import UnfoldService
import UnfoldHTTP

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

    func testEventLoopChoice() throws {
        XCTAssertEqual(try ServiceConfiguration.load(file: nil, environment: [:]).httpServer.eventBackend, .dispatch)
        XCTAssertThrowsError(try ServiceConfiguration.load(file: nil, environment: [:], flags: [(key: "event_loop", flag: "--event-loop", value: "kqueue")])) { error in
            guard case .badValue(let key, .flag("--event-loop"), _)? = error as? ConfigurationError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "event_loop")
        }
        let epoll = { try ServiceConfiguration.load(file: nil, environment: ["UNFOLD_EVENT_LOOP": "epoll"]) }
        #if os(Linux)
        XCTAssertEqual(try epoll().httpServer.eventBackend, .epoll)
        #else
        // Linux-only: elsewhere the value is refused at configuration time, naming the key.
        XCTAssertThrowsError(try epoll()) { error in
            XCTAssertTrue("\(error)".contains("'event_loop'"), "\(error)")
        }
        #endif
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

/// The router and the OpenAPI document describe the same routes.
final class OpenAPIContractTests: XCTestCase {
    func testEveryRouteIsInTheContractAndEveryContractRouteExists() throws {
        let directory = NSTemporaryDirectory() + "unfold-contract-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ServiceConfiguration()
        configuration.snapshots = directory + "/snapshots"
        configuration.jobs = directory + "/jobs"
        configuration.interactionLog = directory + "/log"
        let application = try UnfoldApplication(configuration: configuration, logger: Logger(label: "test"))
        let routed = Set(application.router.routes.map { "\($0.method) \($0.path)" })
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options"]
        let described = Set(paths.flatMap { path, item in item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" } })
        XCTAssertEqual(routed.subtracting(described).sorted(), [], "routes the contract does not describe")
        XCTAssertEqual(described.subtracting(routed).sorted(), [], "routes the contract describes that do not exist")
        XCTAssertEqual(document["openapi"] as? String, "3.1.0")
    }
}

/// The contract's schema of retrain `params`, per model kind, is the parameter tables'.
final class OpenAPIParameterTests: XCTestCase {
    /// A regular expression for the whole numbers 1...hi (digits only, no leading zero).
    static func upTo(_ hi: Int) -> String {
        let digits = Array(String(hi)).map { Int(String($0))! }
        var parts: [String] = []
        if digits.count > 1 { parts.append("[1-9][0-9]{0,\(digits.count - 2)}") }
        for k in 0..<digits.count {
            let low = k == 0 ? 1 : 0, high = digits[k] - (k == digits.count - 1 ? 0 : 1)
            guard high >= low else { continue }
            let prefix = digits[0..<k].map(String.init).joined()
            let rest = digits.count - k - 1
            parts.append(prefix + (low == high ? String(low) : "[\(low)-\(high)]") + (rest > 0 ? "[0-9]{\(rest)}" : ""))
        }
        return parts.joined(separator: "|")
    }

    static func schema(_ accepts: Parameter<Any>.Accepts) -> [String: Any] {
        switch accepts {
        case .integer(let r): return ["type": ["integer", "null"], "minimum": r.lowerBound, "maximum": r.upperBound]
        case .number(let r): return ["type": ["number", "null"], "minimum": r.lowerBound, "maximum": r.upperBound]
        case .choice(let values): return ["type": ["string", "null"], "enum": values as [Any] + [NSNull()]]
        case .integers(let r):
            precondition(r.lowerBound == 1)
            let n = upTo(r.upperBound)
            return ["oneOf": [["type": "integer", "minimum": r.lowerBound, "maximum": r.upperBound],
                              ["type": "string", "pattern": "^(?:(?:\(n))(?:,(?:\(n)))*)?$"], ["type": "null"]]]
        case .text: return ["type": ["string", "null"], "minLength": 1]
        case .flag: return ["type": ["boolean", "null"]]
        }
    }

    static func accepts<P: ParameterSet>(_ type: P.Type) -> [String: Parameter<Any>.Accepts] {
        var out: [String: Parameter<Any>.Accepts] = [:]
        for p in P.parameters {
            switch p.accepts {
            case .integer(let r): out[p.name] = .integer(r)
            case .number(let r): out[p.name] = .number(r)
            case .choice(let v): out[p.name] = .choice(v)
            case .integers(let r): out[p.name] = .integers(r)
            case .text: out[p.name] = .text
            case .flag: out[p.name] = .flag
            }
        }
        return out
    }

    static func params(_ accepts: [String: Parameter<Any>.Accepts]) -> [String: Any] {
        ["type": ["object", "null"], "additionalProperties": false, "properties": accepts.mapValues(schema)]
    }

    /// Component name → the schema of `params` for each kind, and for a request naming no
    /// kind (the parameters every kind takes alike).
    static var expected: [String: Any] {
        let common = accepts(CommonParameters.self)
        var out: [String: Any] = [:]
        var shared: [String: Parameter<Any>.Accepts]?
        for kind in ModelKind.all {
            let own = accepts(kind.parameters).merging(common) { a, _ in a }
            out["Params_" + kind.name.replacingOccurrences(of: "-", with: "_")] = params(own)
            shared = shared.map { s in s.filter { own[$0.key] == $0.value } } ?? own
        }
        out["Params_any_kind"] = params(shared ?? [:])
        return out
    }

    func testTheContractsParameterSchemasAreTheTables() throws {
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8)) as? [String: Any])
        let schemas = try XCTUnwrap((document["components"] as? [String: Any])?["schemas"] as? [String: Any])
        let expected = Self.expected
        let actual = schemas.filter { $0.key.hasPrefix("Params_") }
        let same = NSDictionary(dictionary: expected).isEqual(to: actual)
        if !same {
            let data = try JSONSerialization.data(withJSONObject: expected, options: [.sortedKeys, .prettyPrinted])
            try data.write(to: URL(fileURLWithPath: NSTemporaryDirectory() + "unfold-openapi-params.json"))
        }
        XCTAssertTrue(same, "docs/openapi.yaml's Params_* schemas differ from the parameter tables; the expected ones are in \(NSTemporaryDirectory())unfold-openapi-params.json")
    }
}
