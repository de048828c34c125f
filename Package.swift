// swift-tools-version:6.0
import Foundation
import PackageDescription

/// The CPU the numeric code is compiled for. `UNFOLD_TARGET_CPU` wins (`x86-64-v3` for an
/// image for any AVX2-era CPU; `x86-64` to run anywhere, ~8-11x slower without FMA:
/// docs/deployment.md); otherwise haswell (AVX2, FMA, BMI2) when the build machine has it,
/// so SIMD16 kernels use 256-bit registers and fused multiply-adds, else the baseline.
let targetCPU: String? = {
    if let forced = ProcessInfo.processInfo.environment["UNFOLD_TARGET_CPU"], !forced.isEmpty { return forced }
    #if arch(x86_64)
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        if flags.isSuperset(of: ["avx2", "fma", "bmi2", "movbe"]) { return "haswell" }
    }
    #endif
    return nil
}()

/// The commit the build is made from, read from .git (no git binary needed); "unknown" outside a checkout.
let gitCommit: String = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    func read(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    func absolute(_ path: String, from base: String) -> String { path.hasPrefix("/") ? path : base + "/" + path }
    // A worktree's .git is a file naming its git directory, whose `commondir` holds shared refs.
    var gitDirectory = root + "/.git"
    if let pointer = read(gitDirectory), pointer.hasPrefix("gitdir: ") { gitDirectory = absolute(String(pointer.dropFirst(8)), from: root) }
    let common = read(gitDirectory + "/commondir").map { absolute($0, from: gitDirectory) } ?? gitDirectory
    guard let head = read(gitDirectory + "/HEAD") else { return "unknown" }
    guard head.hasPrefix("ref: ") else { return String(head.prefix(12)) }
    let ref = String(head.dropFirst(5))
    if let commit = read(gitDirectory + "/" + ref) ?? read(common + "/" + ref) { return String(commit.prefix(12)) }
    for line in (read(common + "/packed-refs") ?? "").split(separator: "\n") where line.hasSuffix(" " + ref) { return String(line.prefix(12)) }
    return "unknown"
}()

/// The x86-64 microarchitecture level `targetCPU` implies, which the start-up check
/// (`CCPUCheck`) holds the running CPU to. Other names (`native`, `znver4`, ...) build
/// without the check.
let x86Level: Int? = switch targetCPU {
case "x86-64-v2": 2
case "haswell", "x86-64-v3": 3
case "x86-64-v4": 4
default: nil
}

/// Compiler settings by trust. Numeric targets take only validated numbers (indices
/// checked at the boundary, shapes checked when a snapshot is opened): `-Ounchecked` drops
/// their bounds and overflow checks, and Swift 5 mode lets hot loops hand disjoint chunks of
/// raw buffers to `concurrentPerform`, which Swift 6's Sendable checking cannot see is safe.
/// Everything that parses untrusted bytes (UnfoldData's readers, the log, gzip and fetch;
/// UnfoldHTTP; UnfoldService's JSON) keeps the defaults: Swift 6, `-O` with every check.
/// UnfoldSnapshot reads untrusted files (snapshots arrive from URLs in replica mode) and
/// keeps them too.
let numeric: [SwiftSetting] = [.swiftLanguageMode(.v5), .unsafeFlags(["-Ounchecked"] + (targetCPU.map { ["-target-cpu", $0] } ?? []))]

/// The start-up check is compiled for the baseline CPU (no target-CPU flag) and told what
/// the numeric targets were compiled for.
let cpuCheck: [CSetting] = (targetCPU.map { [.define("UNFOLD_TARGET_CPU", to: "\"\($0)\"")] } ?? [])
    + (x86Level.map { [.define("UNFOLD_X86_64_LEVEL", to: String($0))] } ?? [])

let package = Package(
    name: "Unfold",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "unfold", targets: ["unfold"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(name: "UnfoldJSON"),
        .target(name: "UnfoldMetrics"),
        .target(name: "CBuildInfo", cSettings: [.define("UNFOLD_GIT_COMMIT", to: "\"\(gitCommit)\"")]),
        // epoll is Linux-only; elsewhere UnfoldHTTP builds with its Dispatch backend alone.
        .target(name: "UnfoldHTTP", dependencies: [.target(name: "CEpoll", condition: .when(platforms: [.linux])), "UnfoldJSON", "UnfoldMetrics"]),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "CPrefetch"),
        .target(name: "CCPUCheck", cSettings: cpuCheck),
        .target(name: "UnfoldMath", dependencies: ["CPrefetch"], swiftSettings: numeric),
        .target(name: "UnfoldData", dependencies: ["UnfoldMath", "CPrefetch", "CZlib", "CCurl"]),
        .target(name: "UnfoldModels", dependencies: ["UnfoldMath"], swiftSettings: numeric),
        .target(name: "UnfoldSnapshot", dependencies: ["UnfoldModels", "UnfoldMath", "CZlib"]),
        .target(name: "UnfoldServing", dependencies: ["UnfoldModels", "UnfoldSnapshot", "UnfoldMath", "UnfoldJSON", "UnfoldMetrics"], swiftSettings: numeric),
        .target(name: "UnfoldTraining", dependencies: ["UnfoldMath", "UnfoldData", "UnfoldModels", "UnfoldServing", "UnfoldSnapshot"], swiftSettings: numeric),
        .target(
            name: "UnfoldService",
            dependencies: [
                "UnfoldHTTP",
                "UnfoldData",
                "UnfoldServing",
                "UnfoldSnapshot",
                "UnfoldModels",
                "UnfoldMath",
                "UnfoldMetrics",
                "CBuildInfo",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "unfold",
            dependencies: [
                "UnfoldService",
                "UnfoldTraining",
                "UnfoldSnapshot",
                "UnfoldData",
                "UnfoldModels",
                "UnfoldMath",
                "CCPUCheck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "UnfoldHTTPTests", dependencies: ["UnfoldHTTP"]),
        .testTarget(name: "UnfoldMathTests", dependencies: ["UnfoldMath"]),
        .testTarget(name: "UnfoldDataTests", dependencies: ["UnfoldData"]),
        .testTarget(name: "UnfoldSnapshotTests", dependencies: ["UnfoldSnapshot", "UnfoldModels", "UnfoldMath"]),
        .testTarget(name: "UnfoldTrainingTests", dependencies: ["UnfoldTraining", "UnfoldModels", "UnfoldData", "UnfoldMath", "UnfoldServing", "UnfoldSnapshot"]),
        .testTarget(name: "UnfoldModelsTests", dependencies: ["UnfoldModels", "UnfoldMath"]),
        .testTarget(name: "UnfoldServingTests", dependencies: ["UnfoldServing", "UnfoldModels", "UnfoldSnapshot", "UnfoldMath"]),
        .testTarget(name: "UnfoldServiceTests", dependencies: ["UnfoldService", "UnfoldModels", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "UnfoldEndToEndTests", dependencies: ["UnfoldData", "UnfoldSnapshot", "UnfoldTraining", "CCPUCheck"]),
    ]
)
