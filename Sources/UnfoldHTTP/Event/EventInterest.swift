/// What a watched descriptor is reported for.
struct EventInterest: OptionSet, Sendable, Hashable {
    let rawValue: UInt8

    static let read = EventInterest(rawValue: 1 << 0)
    static let write = EventInterest(rawValue: 1 << 1)
}
