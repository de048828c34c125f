import UnfoldHTTP

/// `/healthz` (the process answers), `/readyz` (a model is loaded and can serve) and
/// `/openapi.json` (the API contract, docs/openapi.yaml).
struct HealthRoutes {
    let readiness: Readiness

    func register(on router: HTTPRouter) {
        router.add("GET", "/healthz", inline: true) { _ in
            .json(.ok, Array(#"{"status":"ok"}"#.utf8))
        }
        router.add("GET", "/readyz", inline: true) { [readiness] _ in
            if let reason = readiness.notReadyReason() {
                return .error(.serviceUnavailable, code: "not_ready", message: reason)
            }
            return .json(.ok, Array(#"{"status":"ready"}"#.utf8))
        }
        let contract = Array(OpenAPIDocument.json.utf8)
        router.add("GET", "/openapi.json") { _ in .json(.ok, contract) }
    }
}
