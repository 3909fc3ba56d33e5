import Synchronization

/// Which tag, asked with which credential. The credential identity is part of the key because a
/// digest is itself information: if team A's secret let kate learn `private/app:v2`, serving that
/// digest to a pod in team B (whose secrets grant nothing) would confirm the image exists and pin
/// a pod to content it could never pull. Entries learned without credentials ("anonymous") are
/// public and served to everyone.
struct CacheKey: Hashable, Sendable {
    let registry: String
    let repository: String
    let tag: String
    /// `anonymous` or `Credential.identity`.
    let identity: String

    static let anonymous = "anonymous"
}

/// A bounded map with per-entry expiry. Eviction drops expired entries first, then the oldest
/// inserted; bounded so that a flood of distinct (even bogus) tags cannot grow memory forever.
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
        var sequence: UInt64
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var sequence: UInt64 = 0
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int) { self.limit = max(1, limit) }

    func value(for key: Key, now: ContinuousClock.Instant = .now) -> Value? {
        state.withLock { s in
            guard let entry = s.entries[key] else { return nil }
            guard entry.expires > now else {
                s.entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    func set(_ value: Value, for key: Key, ttl: Duration, now: ContinuousClock.Instant = .now) {
        state.withLock { s in
            s.sequence += 1
            s.entries[key] = Entry(value: value, expires: now + ttl, sequence: s.sequence)
            if s.entries.count > limit { Self.evict(&s, limit: limit, now: now) }
        }
    }

    func remove(_ key: Key) {
        state.withLock { s in s.entries[key] = nil }
    }

    func removeAll(where predicate: (Key) -> Bool) {
        state.withLock { s in s.entries = s.entries.filter { !predicate($0.key) } }
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Drops expired entries, then the oldest tenth, so eviction cost is amortised.
    private static func evict(_ s: inout State, limit: Int, now: ContinuousClock.Instant) {
        s.entries = s.entries.filter { $0.value.expires > now }
        guard s.entries.count > limit else { return }
        let excess = s.entries.count - limit + max(1, limit / 10)
        let oldest = s.entries.sorted { $0.value.sequence < $1.value.sequence }.prefix(excess).map(\.key)
        for key in oldest { s.entries[key] = nil }
    }
}
