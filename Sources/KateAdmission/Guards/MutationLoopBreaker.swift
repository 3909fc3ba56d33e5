import KateRegistry
import Synchronization

/// Stops kate from feeding a mutation loop: a controller that deletes and recreates a pod because kate's pin made it
/// differ from what the controller asked for (an operator comparing images), again and again.
///
/// The signature is the **same pod identity** created again after kate pinned it: a StatefulSet's or an operator's
/// pod (`db-1`, `pg-main-2`: named by its owner and ordinal, so namespace + name is that identity) whose
/// `settings.creates`-th CREATE arrives within `settings.window` of the first one kate pinned. Rate alone is not the
/// signature: a Deployment scaling 0 → 500 creates 500 pods with 500 generated names (they reach admission with only
/// `generateName`), none of them twice, and never trips it.
///
/// When it trips, pods of that owner (the pod's controller, or the pod itself when it has none) are admitted
/// unpinned for `settings.coolOff`; the caller emits one Event and logs once. State is per process: with several
/// webhook replicas each counts the CREATEs it answered, so a loop spread over N replicas trips within
/// N × (creates − 1) + 1 CREATEs at worst.
///
/// Memory is bounded: both maps are least-recently-used with a fixed capacity and expire on their own.
public final class MutationLoopBreaker: Sendable {
    public struct Settings: Sendable, Equatable {
        /// The CREATE of one identity that trips the breaker (3: the third within the window).
        public var creates: Int
        public var window: Duration
        public var coolOff: Duration
        /// Identities remembered at once (each is a few timestamps).
        public var capacity: Int

        public init(creates: Int = 3, window: Duration = .seconds(600), coolOff: Duration = .seconds(1800), capacity: Int = 16384) {
            self.creates = max(2, creates)
            self.window = window
            self.coolOff = coolOff
            self.capacity = capacity
        }
    }

    /// A pod as the signature sees it.
    public struct Identity: Sendable, Hashable {
        public var namespace: String
        public var name: String

        public init(namespace: String, name: String) {
            self.namespace = namespace
            self.name = name
        }
    }

    /// Whose pods stop being pinned: the controller by UID, or a bare pod by its identity.
    public struct OwnerKey: Sendable, Hashable {
        public var namespace: String
        public var id: String

        public init(namespace: String, id: String) {
            self.namespace = namespace
            self.id = id
        }
    }

    /// One trip: what the Event and the log line say.
    public struct Trip: Sendable, Equatable {
        public var pod: Identity
        public var creates: Int
        /// From the first pinned CREATE to the one that tripped.
        public var span: Duration
        public var until: ContinuousClock.Instant
    }

    public enum Decision: Sendable, Equatable {
        /// Pin as usual; report the pin with `recordPinned` (nil identity: a generated name or a dry run, nothing to count).
        case proceed(Identity?)
        /// This CREATE tripped the breaker: leave it unpinned, tell the owner once.
        case tripped(Trip)
        /// The owner is cooling off after an earlier trip.
        case coolingOff(Trip)
    }

    public let settings: Settings
    /// Pinned CREATE times per identity, oldest first, at most `creates - 1` within the window.
    private let history: ExpiringCache<Identity, [ContinuousClock.Instant]>
    private let open: ExpiringCache<OwnerKey, Trip>
    /// Makes check-and-trip one step, so two reviews racing on one identity cannot both trip (one Event per trip).
    private let decide = Mutex(())

    public init(settings: Settings = .init()) {
        self.settings = settings
        history = ExpiringCache(capacity: settings.capacity, timeToLive: settings.window)
        open = ExpiringCache(capacity: max(64, settings.capacity / 16), timeToLive: settings.coolOff)
    }

    /// What to do with a CREATE of `identity` (nil for a generated name) owned by `owner`. `counts` is false for a
    /// dry run: it may see a cool-off but must not trip (the webhook declares `sideEffects: None`).
    public func check(_ identity: Identity?, owner: OwnerKey, counts: Bool = true, now: ContinuousClock.Instant = .now) -> Decision {
        if let trip = open.value(for: owner, now: now) { return .coolingOff(trip) }
        guard counts else { return .proceed(nil) }
        guard let identity else { return .proceed(nil) }
        return decide.withLock { _ in
            let recent = (history.value(for: identity, now: now) ?? []).filter { now - $0 < settings.window }
            guard recent.count >= settings.creates - 1, let first = recent.first else { return .proceed(identity) }
            let trip = Trip(pod: identity, creates: recent.count + 1, span: now - first, until: now + settings.coolOff)
            // A concurrent review of another pod of this owner may have tripped it first: then this one only cools off.
            if let earlier = open.value(for: owner, now: now) { return .coolingOff(earlier) }
            open.set(trip, for: owner, now: now)
            history.remove(identity)
            return .tripped(trip)
        }
    }

    /// Remembers that kate patched a CREATE of `identity`.
    public func recordPinned(_ identity: Identity, now: ContinuousClock.Instant = .now) {
        decide.withLock { _ in
            var recent = (history.value(for: identity, now: now) ?? []).filter { now - $0 < settings.window }
            recent.append(now)
            if recent.count > settings.creates - 1 { recent.removeFirst(recent.count - (settings.creates - 1)) }
            // The entry lives until its oldest CREATE leaves the window.
            history.set(recent, for: identity, ttl: settings.window - (now - (recent.first ?? now)), now: now)
        }
    }

    /// Owners currently cooling off (for tests and diagnostics).
    public var openOwners: Int { open.count }
}
