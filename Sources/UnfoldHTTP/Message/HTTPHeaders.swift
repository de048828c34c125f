/// An ordered list of header fields with case-insensitive lookup by name.
///
/// Order and duplicates are kept as received: the parser needs them to detect
/// conflicting framing headers, and responses keep the order they were built in.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}

    public init(_ fields: [(String, String)]) {
        for (name, value) in fields { add(name: name, value: value) }
    }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.fields.count == rhs.fields.count
            && zip(lhs.fields, rhs.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    public var count: Int { fields.count }

    public mutating func reserveCapacity(_ n: Int) { fields.reserveCapacity(n) }

    public mutating func add(name: String, value: String) {
        fields.append((name, value))
    }

    /// Replaces every field of this name with one field.
    public mutating func replaceOrAdd(name: String, value: String) {
        remove(name: name)
        fields.append((name, value))
    }

    public mutating func remove(name: String) {
        fields.removeAll { $0.name.caseInsensitiveEquals(name) }
    }

    /// The first value of a field, or nil.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    /// Every value of a field, in order (no allocation when there is none).
    public func values(_ name: String) -> [String] {
        var out: [String] = []
        for field in fields where field.name.caseInsensitiveEquals(name) { out.append(field.value) }
        return out
    }

    /// The comma-separated tokens of every field of this name, lowercased and trimmed
    /// (RFC 9110 §5.6.1 list syntax; empty elements are dropped).
    public func tokens(_ name: String) -> [String] {
        values(name).flatMap { value in
            value.split(separator: ",").compactMap { element in
                let token = element.trimmingOWS().lowercased()
                return token.isEmpty ? nil : token
            }
        }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension StringProtocol {
    func caseInsensitiveEquals<T: StringProtocol>(_ other: T) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return zip(utf8, other.utf8).allSatisfy { a, b in asciiLower(a) == asciiLower(b) }
    }

    /// Trims optional whitespace (SP / HTAB) from both ends (RFC 9110 §5.6.3).
    func trimmingOWS() -> String {
        var bytes = Substring(self).utf8[...]
        while let first = bytes.first, first == 0x20 || first == 0x09 { bytes = bytes.dropFirst() }
        while let last = bytes.last, last == 0x20 || last == 0x09 { bytes = bytes.dropLast() }
        return String(Substring(bytes))
    }
}

@inline(__always)
func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
}
