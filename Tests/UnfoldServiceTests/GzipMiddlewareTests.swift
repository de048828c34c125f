import XCTest
import UnfoldHTTP
@testable import UnfoldService

final class GzipMiddlewareTests: XCTestCase {
    func testAcceptEncoding() {
        func accepts(_ value: String) -> Bool { GzipMiddleware.acceptsGzip(HTTPHeaders([("Accept-Encoding", value)])) }
        XCTAssertTrue(accepts("gzip"))
        XCTAssertTrue(accepts("deflate, GZIP;q=0.5"))
        XCTAssertTrue(accepts("*"))
        XCTAssertFalse(accepts("gzip;q=0"))
        XCTAssertFalse(accepts("*;q=0.5, gzip;q=0"))
        XCTAssertFalse(accepts("br, identity"))
        XCTAssertFalse(GzipMiddleware.acceptsGzip(HTTPHeaders()))
    }
}
