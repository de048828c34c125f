/// The byte layout of a snapshot file (all integers little-endian; see docs/snapshot-format.md).
///
///     header      64 bytes at offset 0
///     sections    `sectionCount` entries of 32 bytes at offset 64
///     payloads    each at a 64-byte-aligned offset, in table order
public enum SnapshotFormat {
    public static let magic: [UInt8] = Array("UNFOLDSN".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 64
    public static let sectionEntrySize = 32
    public static let alignment = 64

    /// What a section holds; the raw value is stored in the section table.
    public enum Section: UInt32, Sendable, CaseIterable, CustomStringConvertible {
        case itemIDs = 1
        case itemTable = 2
        case itemNorms = 3
        case foldIn = 4
        case popularity = 5
        case neighbours = 6
        case metadata = 7
        case itemAttributes = 8
        case tower = 9
        case foldInRecency = 10
        case foldInObjective = 11
        case annIndex = 12

        public var description: String {
            switch self {
            case .itemIDs: return "item-ids"
            case .itemTable: return "item-table"
            case .itemNorms: return "item-norms"
            case .foldIn: return "fold-in"
            case .popularity: return "popularity"
            case .neighbours: return "neighbours"
            case .metadata: return "metadata"
            case .itemAttributes: return "item-attributes"
            case .tower: return "tower"
            case .foldInRecency: return "fold-in-recency"
            case .foldInObjective: return "fold-in-objective"
            case .annIndex: return "ann-index"
            }
        }
    }

    static func aligned(_ offset: Int) -> Int { (offset + alignment - 1) / alignment * alignment }
}

/// Why a snapshot file is refused; each case names the check that failed.
public enum SnapshotError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badMagic
    case unsupportedVersion(UInt32)
    case headerChecksum
    case truncated(String)
    case badSection(String)
    case checksumMismatch(section: String)
    case nonFinite(section: String)
    case inconsistent(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read snapshot \(path): \(reason)"
        case .badMagic: return "check magic failed: not an Unfold snapshot"
        case .unsupportedVersion(let v): return "check version failed: format version \(v) is not supported (this build reads \(SnapshotFormat.version))"
        case .headerChecksum: return "check header-crc failed: header CRC32 mismatch"
        case .truncated(let what): return "check length failed: \(what)"
        case .badSection(let what): return "check section-table failed: \(what)"
        case .checksumMismatch(let section): return "check crc failed: section \(section) CRC32 mismatch"
        case .nonFinite(let section): return "check finite failed: section \(section) holds NaN or infinity"
        case .inconsistent(let what): return "check shape failed: \(what)"
        case .writeFailed(let path, let reason): return "cannot write snapshot \(path): \(reason)"
        }
    }
}
