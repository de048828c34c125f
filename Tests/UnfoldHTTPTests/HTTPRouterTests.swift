import XCTest
@testable import UnfoldHTTP

final class HTTPRouterTests: XCTestCase {
    func request(_ method: String, _ target: String) -> HTTPRequest {
        HTTPRequest(head: HTTPRequestHead(method: method, target: target, version: .http1_1, headers: HTTPHeaders([("Host", "x")])))
    }

    func makeRouter() -> HTTPRouter {
        let router = HTTPRouter()
        router.add("GET", "/v1/items/{id}") { .json(.ok, Array("item \($0.pathParameters["id"]!)".utf8)) }
        router.add("GET", "/v1/items/{id}/similar") { .json(.ok, Array("similar \($0.pathParameters["id"]!) k=\($0.queryParameters["k"] ?? "")".utf8)) }
        router.add("POST", "/v1/recommend") { _ in .json(.ok, Array("rec".utf8)) }
        return router
    }

    func body(_ response: HTTPResponse) -> String { String(decoding: response.body, as: UTF8.self) }

    func testParametersAndQuery() {
        let router = makeRouter()
        XCTAssertEqual(body(router.respond(to: request("GET", "/v1/items/a%20b"))), "item a b")
        XCTAssertEqual(body(router.respond(to: request("GET", "/v1/items/x+y"))), "item x+y")
        XCTAssertEqual(body(router.respond(to: request("GET", "/v1/items/42/similar?k=5&k=9"))), "similar 42 k=5")
    }

    func testWrongMethodGives405WithAllow() {
        let response = makeRouter().respond(to: request("DELETE", "/v1/recommend"))
        XCTAssertEqual(response.status, .methodNotAllowed)
        XCTAssertEqual(response.headers["Allow"], "POST")
        XCTAssertTrue(body(response).contains(#""code":"method_not_allowed""#))
        XCTAssertEqual(makeRouter().respond(to: request("POST", "/v1/items/1")).headers["Allow"], "GET, HEAD")
    }

    func testUnknownPathGives404AndUnknownMethod501() {
        XCTAssertEqual(makeRouter().respond(to: request("GET", "/v2/nothing")).status, .notFound)
        XCTAssertEqual(makeRouter().respond(to: request("BREW", "/v1/recommend")).status, .notImplemented)
    }

    func testHeadFallsBackToGet() {
        XCTAssertEqual(makeRouter().respond(to: request("HEAD", "/v1/items/3")).status, .ok)
    }

    func testInlineRoutes() {
        let router = HTTPRouter()
        router.add("GET", "/healthz", inline: true) { _ in .json(.ok, []) }
        router.add("POST", "/v1/recommend") { _ in .json(.ok, []) }
        XCTAssertTrue(router.runsInline(request("GET", "/healthz")))
        XCTAssertTrue(router.runsInline(request("HEAD", "/healthz")))
        XCTAssertFalse(router.runsInline(request("POST", "/healthz")))
        XCTAssertFalse(router.runsInline(request("POST", "/v1/recommend")))
        XCTAssertFalse(router.runsInline(request("GET", "/nothing")))
    }

    func testMiddlewareWrapsInOrder() {
        struct Tag: HTTPMiddleware {
            let name: String
            func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
                var response = next(request)
                response.headers.add(name: "X-Order", value: name)
                return response
            }
        }
        let router = HTTPRouter(middleware: [Tag(name: "outer"), Tag(name: "inner")])
        router.add("GET", "/") { _ in .json(.ok, []) }
        XCTAssertEqual(router.respond(to: request("GET", "/")).headers.values("X-Order"), ["inner", "outer"])
        XCTAssertEqual(router.respond(to: request("GET", "/none")).headers.values("X-Order"), ["inner", "outer"], "errors pass through middleware too")
    }

    func testMiddlewareSeesTheRouteTemplate() {
        struct Route: HTTPMiddleware {
            func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse {
                var response = next(request)
                response.headers.add(name: "X-Route", value: request.route ?? "none")
                response.headers.add(name: "X-Id", value: request.pathParameters["id"] ?? "none")
                return response
            }
        }
        let router = HTTPRouter(middleware: [Route()])
        router.add("GET", "/v1/items/{id}/similar") { _ in .json(.ok, []) }
        let similar = router.respond(to: request("HEAD", "/v1/items/abc/similar?k=3"))
        XCTAssertEqual(similar.headers["X-Route"], "/v1/items/{id}/similar")
        XCTAssertEqual(similar.headers["X-Id"], "abc")
        XCTAssertEqual(router.respond(to: request("GET", "/v1/items/abc")).headers["X-Route"], "none", "404s have no route")
        XCTAssertEqual(router.respond(to: request("POST", "/v1/items/abc/similar")).headers["X-Route"], "none", "405s have no route")
    }

    func testErrorBodyEscapesJSON() {
        let response = HTTPResponse.error(.badRequest, code: "bad", message: "quote \" backslash \\ newline \n tab \t ctl \u{1}")
        let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: [String: String]]
        XCTAssertEqual(object?["error"]?["message"], "quote \" backslash \\ newline \n tab \t ctl \u{1}")
    }
}
