import Foundation

/// Whether the service can answer recommendations. Until a model store exists and
/// has loaded a model, the service is alive but not ready.
public final class Readiness: Sendable {
    private let modelsLoaded: @Sendable () -> Int

    public init(modelsLoaded: @escaping @Sendable () -> Int) {
        self.modelsLoaded = modelsLoaded
    }

    /// Nil when ready; otherwise what is missing.
    public func notReadyReason() -> String? {
        modelsLoaded() > 0 ? nil : "no model is loaded yet"
    }
}
