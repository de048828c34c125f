import Foundation
import Logging
import UnfoldHTTP

/// The service: configuration, routes and middleware on top of the HTTP server.
public final class UnfoldApplication: Sendable {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    public let router: HTTPRouter
    let readiness: Readiness

    public init(configuration: ServiceConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        // No model store yet: nothing loads models, so the service is never ready.
        self.readiness = Readiness(modelsLoaded: { 0 })
        self.router = HTTPRouter(middleware: [
            RequestLogMiddleware(logger: logger),
            GzipMiddleware(minimumBytes: configuration.gzipMinBytes),
        ])
        HealthRoutes(readiness: readiness).register(on: router)
    }

    /// Starts listening; returns the server and the bound port.
    public func start() throws -> (HTTPServer, UInt16) {
        let logger = self.logger
        let server = HTTPServer(configuration: configuration.httpServer, responder: router) { event in
            Self.log(event, to: logger)
        }
        let port = try server.start()
        if configuration.adminToken.isEmpty {
            logger.warning("no admin token configured: admin routes answer loopback clients only")
        }
        return (server, port)
    }

    static func log(_ event: HTTPServerEvent, to logger: Logger) {
        switch event {
        case .listening(let host, let port):
            logger.notice("listening", metadata: ["host": .string(host), "port": .stringConvertible(port)])
        case .connectionRejected(let peer, let open):
            logger.warning("connection rejected: too many connections", metadata: ["peer": .string(peer), "open": .stringConvertible(open)])
        case .connectionReport(let peer, .protocolError(let error)):
            logger.info("protocol error", metadata: ["peer": .string(peer), "status": .stringConvertible(error.status.code), "error": .string(error.description)])
        case .connectionReport(let peer, .timeout(let deadline)):
            logger.debug("connection timed out", metadata: ["peer": .string(peer), "deadline": .string(deadline.rawValue)])
        case .workersSaturated(let peer):
            logger.warning("workers saturated: answered 503", metadata: ["peer": .string(peer)])
        case .acceptFailed(let error):
            logger.error("accept failed", metadata: ["error": .string(error.description)])
        case .shutdownStarted(let open):
            logger.notice("shutting down", metadata: ["open_connections": .stringConvertible(open)])
        case .shutdownFinished(let forced):
            logger.notice("shut down", metadata: ["forced_closed": .stringConvertible(forced)])
        }
    }
}
