/// A handler answers one request; it runs on a worker thread and may block briefly.
public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse

/// Answers requests; the server asks it where each request should run.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest) -> HTTPResponse
    /// True when the request is cheap and never blocks, so it may be answered on
    /// the event loop instead of waiting for a worker (health probes must answer
    /// even when every worker is busy).
    func runsInline(_ request: HTTPRequest) -> Bool
}

/// A step around the handlers: logging, compression, authentication.
public protocol HTTPMiddleware: Sendable {
    func handle(_ request: HTTPRequest, next: (HTTPRequest) -> HTTPResponse) -> HTTPResponse
}

/// Routes requests by method and path through a trie of path segments.
///
/// Segments written `{name}` capture one path segment into `pathParameters`.
/// A path that exists under another method answers 405 with `Allow`; an unknown
/// path answers 404; a method that HTTP does not define answers 501.
public final class HTTPRouter: HTTPResponder, @unchecked Sendable {
    /// RFC 9110 §9 — the methods a server is expected to recognise — with PATCH (RFC 5789)
    /// and QUERY (draft-ietf-httpbis-safe-method-w-body): on an existing path these answer
    /// 405 with `Allow`, anything else 501.
    /// An array, not a set: ten short strings compare faster than one is hashed.
    public static let knownMethods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "QUERY"]

    /// One method's route at a node: its handler and the path template it was added with.
    private struct Route {
        let method: String
        let handler: HTTPHandler
        let template: String
    }

    private final class Node: @unchecked Sendable {
        var literals: [String: Node] = [:]
        var parameter: (name: String, node: Node)?
        /// A node holds a handful of methods at most, so a scan beats hashing per request.
        var routes: [Route] = []

        func route(_ method: String) -> Route? {
            for route in routes where route.method == method { return route }
            return nil
        }
    }

    private let root = Node()
    private let middleware: [HTTPMiddleware]
    /// Path → methods of the routes registered with `inline: true` (no string is built per
    /// request to ask).
    private var inlineRoutes: [String: [String]] = [:]
    /// Every route added, as (method, path template): what a contract test holds the API
    /// description to.
    public private(set) var routes: [(method: String, path: String)] = []

    /// Routes are added with `add` before the router is handed to a server;
    /// after that it is only read, from any thread.
    public init(middleware: [HTTPMiddleware] = []) {
        self.middleware = middleware
    }

    /// Adds a route. `inline: true` marks a handler that is constant-time and never
    /// blocks; it then runs on the event loop (only literal paths qualify).
    public func add(_ method: String, _ path: String, inline: Bool = false, _ handler: @escaping HTTPHandler) {
        if inline {
            precondition(!path.contains("{"), "inline routes must be literal paths")
            inlineRoutes[path, default: []].append(method)
            if method == "GET" { inlineRoutes[path, default: []].append("HEAD") }
        }
        var node = root
        for segment in Self.segments(path) {
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                let name = String(segment.dropFirst().dropLast())
                if let existing = node.parameter {
                    precondition(existing.name == name, "conflicting parameter names at \(path)")
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else if let child = node.literals[segment] {
                node = child
            } else {
                let child = Node()
                node.literals[segment] = child
                node = child
            }
        }
        precondition(node.route(method) == nil, "duplicate route \(method) \(path)")
        node.routes.append(Route(method: method, handler: handler, template: path))
        routes.append((method, path))
    }

    public func runsInline(_ request: HTTPRequest) -> Bool {
        inlineRoutes[request.path]?.contains(request.method) ?? false
    }

    /// Answers a request: the route is matched first (so middleware sees `route` and
    /// `pathParameters`), then the middleware, then the handler or an error.
    public func respond(to request: HTTPRequest) -> HTTPResponse {
        var routed = request
        let target = resolve(&routed)
        return respond(routed, target, from: 0)
    }

    /// What answers a request: a handler, or an error the router gives itself.
    private enum Target {
        case handler(HTTPHandler)
        case response(HTTPResponse)
    }

    private func respond(_ request: HTTPRequest, _ target: Target, from index: Int) -> HTTPResponse {
        if index < middleware.count {
            return middleware[index].handle(request) { self.respond($0, target, from: index + 1) }
        }
        switch target {
        case .handler(let handler): return handler(request)
        case .response(let response): return response
        }
    }

    /// Matches the route, filling in `route` and `pathParameters`.
    private func resolve(_ request: inout HTTPRequest) -> Target {
        guard Self.knownMethods.contains(request.method) else {
            return .response(.error(.notImplemented, code: "not_implemented", message: "method \(request.method) is not implemented"))
        }
        var parameters: [String: String] = [:]
        guard let node = match(request.path, parameters: &parameters) else {
            return .response(.error(.notFound, code: "not_found", message: "no route for \(request.path)"))
        }
        // RFC 9110 §9.3.2 — HEAD is answered as GET without the body.
        guard let route = node.route(request.method) ?? (request.method == "HEAD" ? node.route("GET") : nil) else {
            var allowed = Set(node.routes.map(\.method))
            if allowed.contains("GET") { allowed.insert("HEAD") }
            let allow = allowed.sorted().joined(separator: ", ")
            var response = HTTPResponse.error(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.path); allowed: \(allow)")
            // RFC 9110 §15.5.6 — a 405 lists the methods the target supports.
            response.headers.add(name: "Allow", value: allow)
            return .response(response)
        }
        request.pathParameters = parameters
        request.route = route.template
        return .handler(route.handler)
    }

    /// Walks the path's non-empty segments (as `segments` splits them) without building
    /// an array of them.
    private func match(_ path: String, parameters: inout [String: String]) -> Node? {
        var node = root
        var rest = path.utf8[...]
        while true {
            while rest.first == UInt8(ascii: "/") { rest = rest.dropFirst() }
            guard !rest.isEmpty else { break }
            let end = rest.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            let segment = String(Substring(rest[..<end]))
            rest = rest[end...]
            if let child = node.literals[segment] {
                node = child
            } else if let (name, child) = node.parameter {
                parameters[name] = percentDecode(segment, plusAsSpace: false)
                node = child
            } else {
                return nil
            }
        }
        return node.routes.isEmpty ? nil : node
    }

    private static func segments(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
