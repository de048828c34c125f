import UnfoldHTTP

/// `GET /admin/ui`: the dashboard, behind the admin guard like every `/admin` route (a
/// browser is asked for the token as a password).
struct DashboardRoutes {
    func register(on router: HTTPRouter) {
        let page = Array(DashboardPage.html.utf8)
        router.add("GET", "/admin/ui") { _ in
            var response = HTTPResponse(status: .ok, body: page)
            response.headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
            // Everything the page loads is its own: no other origin, no plugins, no framing.
            response.headers.add(name: "Content-Security-Policy",
                                 value: "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
            response.headers.add(name: "Cache-Control", value: "no-store")
            return response
        }
    }
}
