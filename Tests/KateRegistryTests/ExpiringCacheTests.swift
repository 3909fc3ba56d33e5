import Testing

@testable import KateRegistry

/// The one expiring cache (registry and admission both use it): what each user relies on.
@Suite("ExpiringCache")
struct ExpiringCacheTests {
    @Test("a per-entry ttl overrides the cache's; without one the cache's applies")
    func perEntryTTL() {
        let cache = ExpiringCache<String, Int>(capacity: 10, timeToLive: .seconds(10))
        let t0 = ContinuousClock.now
        cache.set(1, for: "default", now: t0)
        cache.set(2, for: "short", ttl: .seconds(1), now: t0)
        cache.set(3, for: "long", ttl: .seconds(100), now: t0)
        #expect(cache.value(for: "short", now: t0 + .seconds(2)) == nil)
        #expect(cache.value(for: "default", now: t0 + .seconds(9)) == 1)
        #expect(cache.value(for: "default", now: t0 + .seconds(11)) == nil)
        #expect(cache.value(for: "long", now: t0 + .seconds(99)) == 3)
        // Setting again renews the expiry.
        cache.set(4, for: "short", ttl: .seconds(1), now: t0 + .seconds(50))
        #expect(cache.value(for: "short", now: t0 + .seconds(50.5)) == 4)
    }

    @Test("remove and removeAll(where:) drop exactly the named entries, and their slots are reused")
    func removal() {
        let cache = ExpiringCache<String, Int>(capacity: 4, timeToLive: .seconds(10))
        for (i, key) in ["a/1", "a/2", "b/1", "b/2"].enumerated() { cache.set(i, for: key) }
        cache.remove("a/1")
        cache.remove("missing")
        #expect(cache.count == 3 && cache.value(for: "a/1") == nil)
        cache.removeAll { $0.hasPrefix("b/") }
        #expect(cache.count == 1 && cache.value(for: "a/2") == 1)
        for i in 0..<3 { cache.set(i, for: "c/\(i)") }
        #expect(cache.count == 4)
        #expect(cache.value(for: "a/2") == 1, "nothing was evicted while there was room")
        cache.set(9, for: "d")
        #expect(cache.count == 4 && cache.value(for: "c/0") == nil, "the least recently used went first")
    }

    @Test("under a flood of distinct keys an entry in use stays cached")
    func hotEntrySurvivesFlood() {
        let cache = ExpiringCache<Int, Int>(capacity: 100, timeToLive: .seconds(60))
        let t0 = ContinuousClock.now
        cache.set(0, for: -1, now: t0)
        for i in 0..<10_000 {
            cache.set(i, for: i, now: t0)
            if i % 50 == 0 { #expect(cache.value(for: -1, now: t0) == 0, "evicted after \(i) inserts") }
        }
        #expect(cache.count == 100)
    }
}
