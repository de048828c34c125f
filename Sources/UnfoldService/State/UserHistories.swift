import Foundation

/// What the server remembers of each user between retrains: the latest `capacity` events
/// (item id, weight, time, type), model-independent, filled from the interaction log once a
/// batch is on disk and rebuilt from it at start.
///
/// Memory: an event is 24 bytes (an interned item number, the weight, the time, the type's
/// number); each user adds its key and a small record (~120 bytes); each distinct item id
/// is stored once. Users are spread over 64 shards, each with its own lock, so ingest and
/// recommendations for different users rarely wait on each other.
final class UserHistories: @unchecked Sendable {  // every field is guarded by a lock
    /// One remembered event, with its ids as text.
    struct Event: Sendable, Equatable {
        var item: String
        var weight: Float
        var timestamp: Double
        var type: String?
    }

    /// What `GET /v1/users/{id}` shows and a user recommendation folds in.
    struct History: Sendable {
        /// Oldest first.
        var events: [Event]
        /// Events ever added (older ones beyond the capacity are forgotten).
        var total: Int
        var firstSeen: Double
        var lastSeen: Double
    }

    private struct Stored {
        var item: UInt32
        var weight: Float
        var timestamp: Double
        var type: UInt16
    }

    private struct UserState {
        var ring: [Stored] = []
        /// Where the next event goes once the ring is full.
        var head = 0
        var total = 0
        var firstSeen = Double.infinity
        var lastSeen = -Double.infinity
    }

    private final class Shard: @unchecked Sendable {
        let lock = NSLock()
        var users: [String: UserState] = [:]
        /// Events stored over this shard's users.
        var events = 0
    }

    /// Events kept per user.
    let capacity: Int
    private let shards = (0..<64).map { _ in Shard() }
    /// Interned item ids and type names: a number per distinct string.
    private let internLock = NSLock()
    private var itemNumbers: [String: UInt32] = [:]
    private var itemIDs: [String] = []
    private var typeNumbers: [String: UInt16] = [:]
    private var typeNames: [String] = [""]  // 0: no type

    init(capacity: Int) {
        self.capacity = capacity
    }

    private func shard(_ user: String) -> Shard {
        var hasher = Hasher()
        hasher.combine(user)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    private func intern(_ events: some Sequence<(item: String, weight: Float, timestamp: Double, type: String?)>) -> [Stored] {
        internLock.lock()
        defer { internLock.unlock() }
        return events.map { e in
            let item: UInt32
            if let n = itemNumbers[e.item] { item = n } else {
                item = UInt32(itemIDs.count)
                itemNumbers[e.item] = item
                itemIDs.append(e.item)
            }
            var type: UInt16 = 0
            if let name = e.type {
                if let n = typeNumbers[name] { type = n } else if typeNames.count < Int(UInt16.max) {
                    type = UInt16(typeNames.count)
                    typeNumbers[name] = type
                    typeNames.append(name)
                }
            }
            return Stored(item: item, weight: e.weight, timestamp: e.timestamp, type: type)
        }
    }

    /// Adds one user's events, in the order given.
    func add(user: String, _ events: [(item: String, weight: Float, timestamp: Double, type: String?)]) {
        guard capacity > 0, !events.isEmpty else { return }
        let stored = intern(events)
        let shard = shard(user)
        shard.lock.lock()
        defer { shard.lock.unlock() }
        var state = shard.users.removeValue(forKey: user) ?? UserState()
        let before = state.ring.count
        defer { shard.events += state.ring.count - before }
        for event in stored {
            if state.ring.count < capacity {
                state.ring.append(event)
            } else {
                state.ring[state.head] = event
                state.head = (state.head + 1) % capacity
            }
            state.total += 1
            state.firstSeen = min(state.firstSeen, event.timestamp)
            state.lastSeen = max(state.lastSeen, event.timestamp)
        }
        shard.users[user] = state
    }

    /// Adds a batch of records, grouped by user in their order.
    func add(_ records: [(user: String, item: String, weight: Float, timestamp: Double, type: String?)]) {
        var byUser: [String: [(item: String, weight: Float, timestamp: Double, type: String?)]] = [:]
        var order: [String] = []
        for r in records {
            if byUser[r.user] == nil { order.append(r.user) }
            byUser[r.user, default: []].append((r.item, r.weight, r.timestamp, r.type))
        }
        for user in order { add(user: user, byUser[user]!) }
    }

    /// The user's remembered events, oldest first, or nil for a user never seen (or erased).
    func history(of user: String) -> History? {
        let shard = shard(user)
        shard.lock.lock()
        guard let state = shard.users[user] else {
            shard.lock.unlock()
            return nil
        }
        let ordered = Array(state.ring[state.head...] + state.ring[..<state.head])
        shard.lock.unlock()
        internLock.lock()
        defer { internLock.unlock() }
        let events = ordered.map { Event(item: itemIDs[Int($0.item)], weight: $0.weight, timestamp: $0.timestamp, type: $0.type == 0 ? nil : typeNames[Int($0.type)]) }
        return History(events: events, total: state.total, firstSeen: state.firstSeen, lastSeen: state.lastSeen)
    }

    /// Forgets a user; false when there was nothing to forget.
    @discardableResult
    func remove(_ user: String) -> Bool {
        let shard = shard(user)
        shard.lock.lock()
        defer { shard.lock.unlock() }
        guard let state = shard.users.removeValue(forKey: user) else { return false }
        shard.events -= state.ring.count
        return true
    }

    /// Users remembered and events stored, for `/metrics`.
    var counts: (users: Int, events: Int) {
        var users = 0, events = 0
        for shard in shards {
            shard.lock.lock()
            users += shard.users.count
            events += shard.events
            shard.lock.unlock()
        }
        return (users, events)
    }
}
