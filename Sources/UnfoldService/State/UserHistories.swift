import Foundation
import UnfoldData
import UnfoldServing

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

        /// Adds events, the oldest leaving a full ring; returns how many more it holds.
        mutating func add(_ stored: some Collection<Stored>, capacity: Int) -> Int {
            let before = ring.count
            if ring.isEmpty { ring.reserveCapacity(min(capacity, max(stored.count, 4))) }
            for event in stored {
                if ring.count < capacity {
                    ring.append(event)
                } else {
                    ring[head] = event
                    head = (head + 1) % capacity
                }
                total += 1
                firstSeen = min(firstSeen, event.timestamp)
                lastSeen = max(lastSeen, event.timestamp)
            }
            return ring.count - before
        }
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

    /// Per served model ("name@version"): item number → the model's row (-1: unknown to it,
    /// -2: not looked up yet), filled as histories are resolved, so a user's recommendation
    /// reads rows instead of hashing ids. The newest few models are kept. Under `internLock`.
    private var resolutions: [ModelKey: [Int32]] = [:]
    private var resolutionOrder: [ModelKey] = []

    /// A served model: the object and its version (a version names one snapshot's ids, so an
    /// address reused by a later object of another version never matches).
    struct ModelKey: Hashable {
        var object: ObjectIdentifier
        var version: UInt64
    }
    private static let resolutionsKept = 4

    init(capacity: Int) {
        self.capacity = capacity
    }

    private func shard(_ user: String) -> Shard {
        var hasher = Hasher()
        hasher.combine(user)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    /// The number of an item id (caller holds `internLock`).
    private func number(ofItem id: String) -> UInt32 {
        if let n = itemNumbers[id] { return n }
        let n = UInt32(itemIDs.count)
        itemNumbers[id] = n
        itemIDs.append(id)
        return n
    }

    /// The number of a type name, 0 for none (caller holds `internLock`).
    private func number(ofType name: String?) -> UInt16 {
        guard let name else { return 0 }
        if let n = typeNumbers[name] { return n }
        guard typeNames.count < Int(UInt16.max) else { return 0 }
        let n = UInt16(typeNames.count)
        typeNumbers[name] = n
        typeNames.append(name)
        return n
    }

    /// Adds one user's events, in the order given.
    func add(user: String, _ events: [(item: String, weight: Float, timestamp: Double, type: String?)]) {
        guard capacity > 0, !events.isEmpty else { return }
        let stored = internLock.withLock {
            events.map { Stored(item: number(ofItem: $0.item), weight: $0.weight, timestamp: $0.timestamp, type: number(ofType: $0.type)) }
        }
        store(stored, for: user)
    }

    /// Adds one event (the rebuild at start, record by record).
    func add(user: String, item: String, weight: Float, timestamp: Double, type: String?) {
        guard capacity > 0 else { return }
        let event = internLock.withLock { Stored(item: number(ofItem: item), weight: weight, timestamp: timestamp, type: number(ofType: type)) }
        store(CollectionOfOne(event), for: user)
    }

    private func store(_ stored: some Collection<Stored>, for user: String) {
        let shard = shard(user)
        let capacity = self.capacity
        shard.lock.lock()
        defer { shard.lock.unlock() }
        // Mutated in place in the dictionary: one lookup, no copy of the ring.
        shard.events += shard.users[user, default: UserState()].add(stored, capacity: capacity)
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

    /// A user's stored events resolved against a model (`key` names the model and version;
    /// `resolve` gives an id's row in it): the bag of known items, oldest first, a repeat
    /// adding its weight, and the ids the model does not know. Nil for a user with nothing
    /// stored.
    func posted(of user: String, model key: ModelKey, resolve: (String) -> Int?) -> PostedItems? {
        let shard = shard(user)
        shard.lock.lock()
        guard let state = shard.users[user] else {
            shard.lock.unlock()
            return nil
        }
        let count = state.ring.count
        var items = [UInt32](), weights = [Float]()
        items.reserveCapacity(count)
        weights.reserveCapacity(count)
        for k in 0..<count {
            let event = state.ring[(state.head + k) % count]
            items.append(event.item)
            weights.append(event.weight)
        }
        shard.lock.unlock()
        var posted = PostedItems(capacity: count)
        internLock.lock()
        defer { internLock.unlock() }
        if resolutions[key] == nil {
            resolutionOrder.append(key)
            if resolutionOrder.count > Self.resolutionsKept { resolutions[resolutionOrder.removeFirst()] = nil }
        }
        let ids = itemIDs
        func fill(_ table: inout [Int32]) {
            if table.count < ids.count { table.append(contentsOf: repeatElement(-2, count: ids.count - table.count)) }
            for (n, weight) in zip(items, weights) {
                var row = table[Int(n)]
                if row == -2 {
                    row = resolve(ids[Int(n)]).map(Int32.init) ?? -1
                    table[Int(n)] = row
                }
                if row >= 0 { posted.bag.add(row, weight: weight) } else { posted.unknown.append(ids[Int(n)]) }
            }
        }
        fill(&resolutions[key, default: []])
        return posted
    }

    /// Forgets a user; returns the events forgotten (nil for a user with none stored).
    @discardableResult
    func remove(_ user: String) -> Int? {
        let shard = shard(user)
        shard.lock.lock()
        defer { shard.lock.unlock() }
        guard let state = shard.users.removeValue(forKey: user) else { return nil }
        shard.events -= state.ring.count
        return state.ring.count
    }

    /// Every stored event whose item `wanted` selects, as records (user, item, weight, time),
    /// shard by shard: what the histories know without reading the log again.
    func records(where wanted: (String) -> Bool) -> [InteractionLog.Record] {
        let ids = internLock.withLock { itemIDs }
        var selected = [Bool?](repeating: nil, count: ids.count)
        var out: [InteractionLog.Record] = []
        for shard in shards {
            shard.lock.lock()
            for (user, state) in shard.users {
                for event in state.ring {
                    let n = Int(event.item)
                    if selected[n] == nil { selected[n] = wanted(ids[n]) }
                    if selected[n]! { out.append(.init(user: user, item: ids[n], weight: event.weight, timestamp: event.timestamp)) }
                }
            }
            shard.lock.unlock()
        }
        return out
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
