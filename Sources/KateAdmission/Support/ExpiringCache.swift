import Synchronization

/// A bounded least-recently-used map whose entries also expire after a time to live.
/// Thread-safe; every operation is O(1) amortised (a dictionary plus a doubly linked list
/// threaded through array slots, so no per-entry allocation).
public final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Slot {
        var key: Key
        var value: Value
        var expires: ContinuousClock.Instant
        var prev: Int
        var next: Int
    }

    private struct State {
        var index: [Key: Int] = [:]
        var slots: [Slot] = []
        var free: [Int] = []
        var head = -1  // most recently used
        var tail = -1  // least recently used

        mutating func unlink(_ i: Int) {
            let p = slots[i].prev, n = slots[i].next
            if p >= 0 { slots[p].next = n } else { head = n }
            if n >= 0 { slots[n].prev = p } else { tail = p }
        }

        mutating func pushFront(_ i: Int) {
            slots[i].prev = -1
            slots[i].next = head
            if head >= 0 { slots[head].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func remove(_ i: Int) {
            unlink(i)
            index[slots[i].key] = nil
            free.append(i)
        }
    }

    public let capacity: Int
    public let timeToLive: Duration
    private let state = Mutex(State())

    public init(capacity: Int, timeToLive: Duration) {
        self.capacity = max(1, capacity)
        self.timeToLive = timeToLive
    }

    public func value(for key: Key, now: ContinuousClock.Instant = .now) -> Value? {
        state.withLock { s in
            guard let i = s.index[key] else { return nil }
            if s.slots[i].expires <= now {
                s.remove(i)
                return nil
            }
            s.unlink(i)
            s.pushFront(i)
            return s.slots[i].value
        }
    }

    public func set(_ value: Value, for key: Key, now: ContinuousClock.Instant = .now) {
        let expires = now + timeToLive
        state.withLock { s in
            if let i = s.index[key] {
                s.slots[i].value = value
                s.slots[i].expires = expires
                s.unlink(i)
                s.pushFront(i)
                return
            }
            if s.index.count >= capacity, s.tail >= 0 { s.remove(s.tail) }
            let slot = Slot(key: key, value: value, expires: expires, prev: -1, next: -1)
            let i: Int
            if let reused = s.free.popLast() {
                s.slots[reused] = slot
                i = reused
            } else {
                s.slots.append(slot)
                i = s.slots.count - 1
            }
            s.index[key] = i
            s.pushFront(i)
        }
    }

    public var count: Int { state.withLock { $0.index.count } }
}
