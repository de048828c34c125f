import Foundation

/// A directory of this fuzzing process's own, for harnesses whose readers take a path:
/// in memory where /dev/shm exists, rewritten input after input.
func fuzzScratch(_ name: String) -> String {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let directory = (base as NSString).appendingPathComponent("unfold-fuzz-\(name)-\(getpid())")
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}
