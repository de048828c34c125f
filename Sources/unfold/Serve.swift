import ArgumentParser
import Dispatch
import Foundation
import Logging
import UnfoldService

/// `unfold serve`: loads the configuration and serves until SIGTERM or SIGINT.
struct Serve: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            abstract: "Serve the HTTP API.",
            discussion: "Settings come from the configuration file, then UNFOLD_* environment variables (the key upper-cased), then these flags:\n\n"
                + ServiceConfiguration.flagHelp
        )
    }

    @Option(help: "Configuration file (default: $UNFOLD_CONFIG, else Config/unfold.json if present).")
    var config: String?

    /// `--key value` for every key of the configuration table (listed in the help above).
    @Argument(parsing: .allUnrecognized, help: .hidden) var settings: [String] = []

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let file = config ?? environment["UNFOLD_CONFIG"] ?? (FileManager.default.fileExists(atPath: "Config/unfold.json") ? "Config/unfold.json" : nil)
        let settings: ServiceConfiguration
        do {
            settings = try ServiceConfiguration.load(file: file, environment: environment, arguments: self.settings)
        } catch {
            throw ValidationError(error.description)
        }

        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        LogWriter.shared.format = LogWriter.Format(rawValue: settings.logFormat) ?? .logfmt
        LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
        let logger = Logger(label: "unfold")
        raiseDescriptorLimit(logger: logger)

        let application: UnfoldApplication
        do {
            application = try UnfoldApplication(configuration: settings, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        // SIGHUP: rescan the snapshot directory. Installed before the server listens: a
        // SIGHUP that arrives between "listening" and here would otherwise kill the process
        // (its default action), as a loaded test machine showed. Without SA_RESTART on
        // purpose: a signal then interrupts blocking calls with EINTR, which every call site
        // retries.
        if !setSignalHandler(SIGHUP, { _ in hangupCounter &+= 1 }, restart: false) {
            logger.error("could not install the SIGHUP handler", metadata: ["errno": .stringConvertible(errno)])
        }
        let (server, _) = try application.start()

        // Graceful shutdown: handle SIGTERM/SIGINT on a queue instead of dying.
        var signalSources: [DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            if !setSignalHandler(signalNumber, SIG_IGN, restart: true) {
                logger.error("could not take over a signal; it keeps its default action", metadata: ["signal": .stringConvertible(signalNumber), "errno": .stringConvertible(errno)])
            }
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler {
                logger.notice("signal received", metadata: ["signal": .stringConvertible(signalNumber)])
                server.shutdown(grace: settings.shutdownGraceNanoseconds) {
                    LogWriter.shared.flush()
                    Foundation.exit(0)
                }
            }
            source.resume()
            signalSources.append(source)
        }
        let store = application.store
        let hangups = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        hangups.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(200))
        var seen = hangupCount()
        hangups.setEventHandler {
            let now = hangupCount()
            if now != seen {
                seen = now
                logger.notice("SIGHUP: rescanning snapshots", metadata: ["signals": .stringConvertible(now)])
                store.refresh()
            }
        }
        hangups.resume()
        withExtendedLifetime((signalSources, hangups)) {
            dispatchMain()
        }
    }

    /// Each connection is a descriptor: lift the soft limit to the hard one.
    private func raiseDescriptorLimit(logger: Logger) {
        #if os(Linux)
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else {
            logger.warning("could not read the open-file limit", metadata: ["errno": .stringConvertible(errno)])
            return
        }
        guard limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(resource, &limit) != 0 {
            logger.warning("could not raise the open-file limit", metadata: ["errno": .stringConvertible(errno)])
        }
    }
}

/// Counts SIGHUPs; the handler only increments a counter (async-signal-safe).
nonisolated(unsafe) private var hangupCounter: sig_atomic_t = 0

private func hangupCount() -> Int { Int(hangupCounter) }

/// Installs `handler` for `signal` (`restart`: `SA_RESTART`); false with `errno` set on failure.
private func setSignalHandler(_ signal: Int32, _ handler: (@convention(c) (Int32) -> Void)?, restart: Bool) -> Bool {
    var action = sigaction()
    #if os(Linux)
    action.__sigaction_handler.sa_handler = handler
    #else
    action.__sigaction_u.__sa_handler = handler
    #endif
    action.sa_flags = restart ? Int32(SA_RESTART) : 0
    return sigemptyset(&action.sa_mask) == 0 && sigaction(signal, &action, nil) == 0
}
