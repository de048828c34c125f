import XCTest
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
