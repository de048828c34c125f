import CBuildInfo
import Foundation

/// The process's own figures, read from the kernel at scrape time.
enum ProcessMetrics {
    static let startTime = Date().timeIntervalSince1970

    static var gitCommit: String { String(cString: unfold_git_commit()) }

    /// Resident set size in bytes (Linux: /proc/self/statm; elsewhere getrusage's peak).
    static var residentBytes: Double? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE)))
        #else
        var usage = rusage()
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
        return Double(usage.ru_maxrss)
        #endif
    }

    /// Open file descriptors (Linux: the entries of /proc/self/fd).
    static var openDescriptors: Double? {
        #if os(Linux)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        return Double(entries.count)
        #else
        return nil
        #endif
    }

    static var maxDescriptors: Double? {
        var limit = rlimit()
        #if os(Linux)
        let resource = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return nil }
        return Double(limit.rlim_cur)
    }
}
