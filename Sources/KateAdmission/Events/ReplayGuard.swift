import Synchronization

/// Remembers the notifications already acted on, so a registry's retry (the same event id) or a
/// duplicate sent by two webhooks (the same tag and digest within a minute, for formats without
/// ids) is answered 200 without resolving again. Bounded: expired keys go first, then the oldest.
public final class ReplayGuard: Sendable {
    public let idWindow: Duration
    public let contentWindow: Duration
    public let capacity: Int
    private let seen = Mutex<[String: ContinuousClock.Instant]>([:])

    public init(idWindow: Duration = .seconds(600), contentWindow: Duration = .seconds(60), capacity: Int = 10_000) {
        self.idWindow = idWindow
        self.contentWindow = contentWindow
        self.capacity = max(1, capacity)
    }

    /// True the first time `push` is seen within its window (and records it); false for a replay.
    public func firstSighting(of push: RegistryPush, now: ContinuousClock.Instant = .now) -> Bool {
        let key = Self.key(for: push)
        let window = push.eventID == nil ? contentWindow : idWindow
        return seen.withLock { seen in
            if let expiry = seen[key], expiry > now { return false }
            if seen.count >= capacity {
                seen = seen.filter { $0.value > now }
                if seen.count >= capacity, let oldest = seen.min(by: { $0.value < $1.value })?.key { seen[oldest] = nil }
            }
            seen[key] = now + window
            return true
        }
    }
}

extension ReplayGuard {
    /// Forgets `push` (its refresh failed: the sender's retry must run again, not count as a replay).
    public func forget(_ push: RegistryPush) {
        let key = Self.key(for: push)
        seen.withLock { $0[key] = nil }
    }

    /// The sender's event id when it has one, else the tag and digest the push names.
    private static func key(for push: RegistryPush) -> String {
        push.eventID.map { "\(push.format)#\($0)" } ?? "\(push.reference)@\(push.digest ?? "")"
    }
}
