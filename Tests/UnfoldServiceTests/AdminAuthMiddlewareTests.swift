import XCTest
import UnfoldHTTP
@testable import UnfoldService

final class AdminAuthMiddlewareTests: XCTestCase {
    func request(_ path: String, from address: String, authorization: String? = nil) -> HTTPRequest {
        var headers = HTTPHeaders([("Host", "x")])
        if let authorization { headers.add(name: "Authorization", value: authorization) }
        return HTTPRequest(head: HTTPRequestHead(method: "GET", target: path, version: .http1_1, headers: headers), remoteAddress: address)
    }

    func status(_ middleware: AdminAuthMiddleware, _ request: HTTPRequest) -> Int {
        middleware.handle(request) { _ in .json(.ok, []) }.status.code
    }

    func testLoopbackOnlyWithoutAToken() {
        let m = AdminAuthMiddleware(token: "")
        XCTAssertEqual(status(m, request("/admin/models", from: "127.0.0.1")), 200)
        XCTAssertEqual(status(m, request("/admin/models", from: "::1")), 200)
        XCTAssertEqual(status(m, request("/admin/models", from: "10.1.2.3")), 403)
        XCTAssertEqual(status(m, request("/v1/recommend", from: "10.1.2.3")), 200, "only /admin is guarded")
        XCTAssertEqual(status(m, request("/administrator", from: "10.1.2.3")), 200)
    }

    func testTokenFromAnywhere() {
        let m = AdminAuthMiddleware(token: "tok")
        XCTAssertEqual(status(m, request("/admin/jobs", from: "10.1.2.3", authorization: "Bearer tok")), 200)
        XCTAssertEqual(status(m, request("/admin/jobs", from: "10.1.2.3", authorization: "bearer tok")), 200)
        XCTAssertEqual(status(m, request("/admin/jobs", from: "127.0.0.1", authorization: "Bearer to")), 401)
        XCTAssertEqual(status(m, request("/admin/jobs", from: "127.0.0.1", authorization: "Basic dG9r")), 401)
        XCTAssertEqual(status(m, request("/admin/jobs", from: "127.0.0.1")), 401, "loopback needs the token too once one is set")
    }

    func testConstantTimeEquality() {
        XCTAssertTrue(AdminAuthMiddleware.constantTimeEquals("abc", "abc"))
        XCTAssertFalse(AdminAuthMiddleware.constantTimeEquals("abd", "abc"))
        XCTAssertFalse(AdminAuthMiddleware.constantTimeEquals("ab", "abc"))
        XCTAssertFalse(AdminAuthMiddleware.constantTimeEquals("abcd", "abc"))
        XCTAssertFalse(AdminAuthMiddleware.constantTimeEquals("", "abc"))
    }

    func testMetricsAnswerLoopbackFreelyAndOthersWithTheTokenOrWhenPublic() {
        let closed = AdminAuthMiddleware(token: "")
        XCTAssertEqual(status(closed, request("/metrics", from: "127.0.0.1")), 200)
        XCTAssertEqual(status(closed, request("/metrics", from: "10.1.2.3")), 403)
        let token = AdminAuthMiddleware(token: "tok")
        XCTAssertEqual(status(token, request("/metrics", from: "127.0.0.1")), 200, "loopback needs no token for /metrics")
        XCTAssertEqual(status(token, request("/metrics", from: "10.1.2.3")), 401)
        XCTAssertEqual(status(token, request("/metrics", from: "10.1.2.3", authorization: "Bearer tok")), 200)
        let open = AdminAuthMiddleware(token: "tok", metricsPublic: true)
        XCTAssertEqual(status(open, request("/metrics", from: "10.1.2.3")), 200)
        XCTAssertEqual(status(open, request("/admin/jobs", from: "10.1.2.3")), 401, "metrics_public opens /metrics only")
    }
}
