import Foundation
import UnfoldData
import UnfoldMath

/// The exchange directory spark/unfold_als.py writes (docs/spark.md): item ids with their
/// interaction counts, the item factors, optionally a sample of users with Spark's user
/// factors, and `metadata.json`, written last. Read from a local directory, a `file://` URL
/// or an `http(s)://` URL (each file fetched with libcurl), and checked before anything is
/// built from it: format and version, sizes, CRC-32s, unique ids, finite factors.
public struct SparkExchange: Sendable {
    public struct Metadata: Codable, Sendable, Equatable {
        public struct Hyperparameters: Codable, Sendable, Equatable {
            public var factors: Int
            public var regularization: Double
            public var alpha: Double
            public var iterations: Int
            public var seed: Int
            public var implicitPrefs: Bool
            public var nonnegative: Bool

            enum CodingKeys: String, CodingKey {
                case factors, regularization, alpha, iterations, seed, nonnegative
                case implicitPrefs = "implicit_prefs"
            }
        }

        public struct DataInfo: Codable, Sendable, Equatable {
            public var source: String
            public var format: String
            public var records: Int
            public var skipped: Int?
            public var cells: Int
            public var positiveCells: Int
            public var users: Int
            public var items: Int
            public var fingerprint: String

            enum CodingKeys: String, CodingKey {
                case source, format, records, skipped, cells, users, items, fingerprint
                case positiveCells = "positive_cells"
            }
        }

        public struct FileInfo: Codable, Sendable, Equatable {
            public var name: String
            public var rows: Int
            public var cols: Int?
            public var bytes: Int?
            public var crc32: UInt32?
        }

        public var format: String
        public var formatVersion: Int
        public var sparkVersion: String
        public var createdAt: String
        public var hyperparameters: Hyperparameters
        public var objective: String
        public var data: DataInfo
        public var files: [String: FileInfo]
        public var evaluation: [String: Double]?
        public var trainingSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case format, hyperparameters, objective, data, files, evaluation
            case formatVersion = "format_version", sparkVersion = "spark_version", createdAt = "created_at", trainingSeconds = "training_seconds"
        }
    }

    /// Why an exchange directory is refused; the message names the file and the check.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public static let format = "unfold-spark-als"
    public static let formatVersion = 1

    public var location: String
    public var metadata: Metadata
    public var itemIDs: [String]
    /// Interaction records per item in Spark's input (the popularity fallback).
    public var itemCounts: [Float]
    public var itemFactors: Matrix
    /// The sample of training users Spark's user vectors were written for (parity checks,
    /// and the users' Gram that places new items).
    public var userIDs: [String]
    public var userFactors: Matrix?

    /// Reads and checks the directory at `location`.
    public static func read(_ location: String, fetch: Fetcher.Options = Fetcher.Options()) throws(Error) -> SparkExchange {
        let files = Files(location: location, options: fetch)
        let metadataBytes = try files.bytes("metadata.json")
        let metadata: Metadata
        do {
            metadata = try JSONDecoder().decode(Metadata.self, from: Data(metadataBytes))
        } catch {
            throw Error("\(files.name("metadata.json")) is not an exchange directory's metadata: \(error)")
        }
        guard metadata.format == format else { throw Error("\(files.name("metadata.json")): format is '\(metadata.format)', expected '\(format)'") }
        guard metadata.formatVersion == formatVersion else {
            throw Error("\(files.name("metadata.json")): format_version \(metadata.formatVersion) is not supported (this build reads \(formatVersion))")
        }
        let h = metadata.hyperparameters
        guard metadata.objective == "als-wr", h.implicitPrefs, !h.nonnegative else {
            throw Error("\(files.name("metadata.json")): only implicit ALS without the nonnegative constraint (objective als-wr) is served by fold-in; got objective \(metadata.objective), implicit_prefs \(h.implicitPrefs), nonnegative \(h.nonnegative)")
        }
        guard (1...4096).contains(h.factors), h.regularization >= 0, h.regularization.isFinite, h.alpha >= 0, h.alpha.isFinite else {
            throw Error("\(files.name("metadata.json")): hyperparameters out of range (factors 1...4096, regularization and alpha finite and >= 0)")
        }
        let (itemIDs, itemCounts) = try idList(files, metadata, key: "items", required: true)
        let itemFactors = try factors(files, metadata, key: "item_factors", rows: itemIDs.count, cols: h.factors)!
        guard !itemIDs.isEmpty else { throw Error("\(files.name("items.tsv")): no items") }
        let (userIDs, _) = try idList(files, metadata, key: "users", required: false)
        let userFactors = try factors(files, metadata, key: "user_factors", rows: userIDs.count, cols: h.factors)
        if userFactors == nil && !userIDs.isEmpty { throw Error("\(files.name("metadata.json")): users are listed without user_factors") }
        return SparkExchange(location: location, metadata: metadata, itemIDs: itemIDs, itemCounts: itemCounts, itemFactors: itemFactors,
                             userIDs: userIDs, userFactors: userFactors)
    }

    /// `ID<TAB>COUNT` lines, ids unique, the count the metadata gives.
    static func idList(_ files: Files, _ metadata: Metadata, key: String, required: Bool) throws(Error) -> ([String], [Float]) {
        guard let info = metadata.files[key] else {
            if required { throw Error("\(files.name("metadata.json")): files has no '\(key)' entry") }
            return ([], [])
        }
        let bytes = try files.checked(info)
        var ids: [String] = [], counts: [Float] = [], seen = Set<String>()
        ids.reserveCapacity(info.rows)
        counts.reserveCapacity(info.rows)
        let body = bytes.last == 0x0A ? bytes.dropLast() : bytes[...]
        var lineNumber = 0
        for line in body.isEmpty ? [] : body.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            guard let tab = line.firstIndex(of: 0x09), let id = String(validating: line[line.startIndex..<tab], as: UTF8.self), !id.isEmpty,
                  let count = Float(String(decoding: line[(tab + 1)...], as: UTF8.self)), count.isFinite, count >= 0 else {
                throw Error("\(files.name(info.name)):\(lineNumber): expected ID<TAB>COUNT (UTF-8 id, count >= 0)")
            }
            guard seen.insert(id).inserted else { throw Error("\(files.name(info.name)):\(lineNumber): id '\(id)' appears twice") }
            ids.append(id)
            counts.append(count)
        }
        guard ids.count == info.rows else { throw Error("\(files.name(info.name)): \(ids.count) lines, the metadata says \(info.rows)") }
        return (ids, counts)
    }

    /// rows×cols little-endian float32, every value finite.
    static func factors(_ files: Files, _ metadata: Metadata, key: String, rows: Int, cols: Int) throws(Error) -> Matrix? {
        guard let info = metadata.files[key] else {
            if key == "item_factors" { throw Error("\(files.name("metadata.json")): files has no 'item_factors' entry") }
            return nil
        }
        guard info.rows == rows, info.cols == cols else {
            throw Error("\(files.name(info.name)): \(info.rows)x\(info.cols ?? 0) in the metadata, expected \(rows)x\(cols) (one row per id, factors columns)")
        }
        let bytes = try files.checked(info)
        guard bytes.count == rows * cols * 4 else { throw Error("\(files.name(info.name)): \(bytes.count) bytes, expected \(rows)x\(cols) float32 (\(rows * cols * 4))") }
        var storage = [Float](repeating: 0, count: rows * cols)
        var finite = true
        bytes.withUnsafeBytes { raw in
            for k in 0..<(rows * cols) {
                let value = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: k * 4, as: UInt32.self)))
                finite = finite && value.isFinite
                storage[k] = value
            }
        }
        guard finite else { throw Error("\(files.name(info.name)): holds NaN or infinity") }
        return Matrix(rows: rows, cols: cols, storage: storage)
    }

    /// The directory's files, local or fetched.
    struct Files {
        let location: String
        let options: Fetcher.Options

        var isRemote: Bool {
            let lower = location.lowercased()
            return lower.hasPrefix("http://") || lower.hasPrefix("https://")
        }

        func name(_ file: String) -> String {
            location.hasSuffix("/") ? location + file : location + "/" + file
        }

        func bytes(_ file: String) throws(Error) -> [UInt8] {
            if isRemote {
                do { return try Fetcher.fetch(name(file), options: options).body } catch { throw Error("cannot fetch \(name(file)): \(error)") }
            }
            var path = name(file)
            if path.lowercased().hasPrefix("file://") { path = URL(string: path)?.path ?? String(path.dropFirst(7)) }
            guard let data = FileManager.default.contents(atPath: path) else { throw Error("cannot read \(path)") }
            return [UInt8](data)
        }

        /// The file's bytes, checked against its size and CRC-32 when the metadata has them.
        func checked(_ info: Metadata.FileInfo) throws(Error) -> [UInt8] {
            guard !info.name.contains("/"), !info.name.hasPrefix(".") else { throw Error("\(name("metadata.json")): file name '\(info.name)' must be a plain name in the directory") }
            let bytes = try self.bytes(info.name)
            if let size = info.bytes, size != bytes.count { throw Error("\(name(info.name)): \(bytes.count) bytes, the metadata says \(size)") }
            if let crc = info.crc32, crc != ChecksummedLine.crc(bytes) { throw Error("\(name(info.name)): CRC-32 mismatch (damaged or partly written)") }
            return bytes
        }
    }
}
