#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only mapping of a whole file, unmapped when the last reference goes.
final class Mapping: @unchecked Sendable {
    // Safe to share: mapped PROT_READ and never written.
    let base: UnsafeMutableRawPointer
    let size: Int
    init(base: UnsafeMutableRawPointer, size: Int) {
        self.base = base
        self.size = size
    }
    deinit { munmap(base, size) }
}
