import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, with its standard output and error on pipes.
/// By default in its own process group: signals go to the whole group, so anything the
/// child started is stopped with it. `ownGroup: false` keeps it in the caller's group (a
/// trainer's own children, stopped with the trainer when the server signals its group).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let stdout: FileHandle
    public let stderr: FileHandle

    public init(executable: String, arguments: [String], environment: [String: String]? = nil, ownGroup: Bool = true) throws {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { throw POSIXError(.EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in [outPipe[0], outPipe[1], errPipe[0], errPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group (pgid = pid) and default signal handling in the child.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16((ownGroup ? POSIX_SPAWN_SETPGROUP : 0) | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, env)
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL)
        }
        pid = child
        stdout = FileHandle(fileDescriptor: outPipe[0], closeOnDealloc: true)
        stderr = FileHandle(fileDescriptor: errPipe[0], closeOnDealloc: true)
    }

    /// Sends a signal to the child's whole process group (its own group only).
    public func signalGroup(_ signal: Int32) {
        kill(-pid, signal)
    }

    /// Blocks until the child exits; returns (exit status, terminating signal).
    public func wait() -> (status: Int32?, signal: Int32?) {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            if errno != EINTR { return (nil, nil) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand (macros are not imported).
        let termination = raw & 0x7F
        if termination == 0 { return ((raw >> 8) & 0xFF, nil) }
        return (nil, termination)
    }

    /// The path of the running executable, for spawning `unfold train`.
    public static var currentExecutable: String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// The lines of a pipe as they arrive (the last one without its newline), until EOF.
    public static func lines(_ handle: FileHandle) -> AnySequence<String> {
        AnySequence { () -> AnyIterator<String> in
            var buffer = Data()
            var finished = false
            return AnyIterator {
                while true {
                    if let newline = buffer.firstIndex(of: 0x0A) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...newline)
                        return line
                    }
                    if finished {
                        guard !buffer.isEmpty else { return nil }
                        defer { buffer.removeAll() }
                        return String(decoding: buffer, as: UTF8.self)
                    }
                    let chunk = handle.availableData
                    if chunk.isEmpty { finished = true } else { buffer.append(chunk) }
                }
            }
        }
    }


    /// `name` found on PATH (a name with a slash is returned as it is), or nil.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
