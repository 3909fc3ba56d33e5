import KateRegistry
import Synchronization

/// Stops kate from feeding a mutation loop: a controller that deletes and recreates a pod because kate's pin made it
/// differ from what the controller asked for (an operator comparing images), again and again.
///
/// Two signatures, either trips it:
/// 1. **The same pod identity** created again after kate pinned it: a StatefulSet's or an operator's pod (`db-1`,
///    `pg-main-2`: named by its owner and ordinal, so namespace + name is that identity) whose `settings.creates`-th
///    CREATE arrives within `settings.window` of the first one kate pinned.
/// 2. **One owner's pods created faster than its replica count explains**: pods with generated names never repeat a
///    name, so (1) misses an operator that recreates them. Pinned CREATEs are counted per controller (by UID) in the
///    window; only once the count passes `settings.ownerFloor` does the caller ask how many replicas the owner wants
///    (`OwnerReplicas`), and the CREATE trips it when the count exceeds `ownerFactor` × replicas + `ownerFloor`.
///    Why that bound: scaling up to N creates N pods, and a node drain or a rolling eviction recreates each once, so
///    an owner that behaves creates at most 2 × N in a window; the floor absorbs a scale-up and a replacement of the
///    same pods in one window and small owners (replicas 0–2) whose pods crash out. A Deployment scaling 0 → 500
///    (replicas 500) creates 500 pods, far below 2 × 500 + 10, and never trips it; an operator recreating its
///    3 instances' pods trips at the 17th CREATE. Rate alone is never the signature: without a replica count (no
///    scale subresource, 403) signature 2 does not trip.
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
        /// Identities (and owners) remembered at once (each is a few timestamps).
        public var capacity: Int
        /// Signature 2: pinned CREATEs of one owner in the window before its replica count is asked for, and the slack
        /// over `ownerFactor` × replicas. 0 turns signature 2 off.
        public var ownerFloor: Int
        /// Signature 2: how many CREATEs per replica a window explains (2: a scale-up plus one recreation each).
        public var ownerFactor: Int

        public init(
            creates: Int = 3, window: Duration = .seconds(600), coolOff: Duration = .seconds(1800), capacity: Int = 16384,
            ownerFloor: Int = 10, ownerFactor: Int = 2
        ) {
            self.creates = max(2, creates)
            self.window = window
            self.coolOff = coolOff
            self.capacity = capacity
            self.ownerFloor = max(0, ownerFloor)
            self.ownerFactor = max(1, ownerFactor)
        }

        /// The pinned CREATEs in one window that `replicas` explain; one more trips signature 2.
        public func ownerLimit(replicas: Int) -> Int { ownerFactor * max(0, replicas) + ownerFloor }
    }

    /// Which signature tripped: the `signature` label of `kate_mutation_loop_breaker_total`.
    public enum Signature: Sendable, Equatable {
        /// One pod identity created `creates` times.
        case samePod
        /// One owner's pods created more often than `replicas` explain.
        case ownerRate(replicas: Int)

        public var label: String {
            switch self {
            case .samePod: "same-pod"
            case .ownerRate: "owner-rate"
            }
        }
        public static let labels = ["same-pod", "owner-rate"]
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
        /// The pod whose CREATE tripped it (for a generated name: its `generateName` prefix).
        public var pod: Identity
        public var creates: Int
        /// From the first pinned CREATE to the one that tripped.
        public var span: Duration
        public var until: ContinuousClock.Instant
        public var signature: Signature = .samePod
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
    /// Signature 2: pinned CREATEs per owner in the window, in `OwnerCreates.bucketCount` buckets.
    private let ownerCreates: ExpiringCache<OwnerKey, OwnerCreates>
    /// Where bucket 0 starts.
    private let origin = ContinuousClock.now
    /// Makes check-and-trip one step, so two reviews racing on one identity cannot both trip (one Event per trip).
    private let decide = Mutex(())

    public init(settings: Settings = .init()) {
        self.settings = settings
        history = ExpiringCache(capacity: settings.capacity, timeToLive: settings.window)
        open = ExpiringCache(capacity: max(64, settings.capacity / 16), timeToLive: settings.coolOff)
        ownerCreates = ExpiringCache(capacity: settings.capacity, timeToLive: settings.window)
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

    // MARK: signature 2, per owner

    /// True when this CREATE (not yet counted) would put `owner` past the floor: only then is its replica count
    /// worth asking for. One lookup; always false with signature 2 off.
    public func ownerNeedsReplicas(_ owner: OwnerKey, now: ContinuousClock.Instant = .now) -> Bool {
        guard settings.ownerFloor > 0 else { return false }
        let count = ownerCreates.value(for: owner, now: now)?.count(at: bucket(now)) ?? 0
        return count + 1 > settings.ownerFloor
    }

    /// Signature 2 for a CREATE of `pod` owned by `owner`, which wants `replicas`: trips when this CREATE makes the
    /// owner's pinned CREATEs in the window more than `settings.ownerLimit(replicas:)`.
    public func checkOwnerRate(_ owner: OwnerKey, pod: Identity, replicas: Int, now: ContinuousClock.Instant = .now) -> Decision {
        guard settings.ownerFloor > 0 else { return .proceed(nil) }
        return decide.withLock { _ in
            guard let recent = ownerCreates.value(for: owner, now: now) else { return .proceed(nil) }
            let current = bucket(now)
            let creates = recent.count(at: current) + 1
            guard creates > settings.ownerLimit(replicas: replicas) else { return .proceed(nil) }
            if let earlier = open.value(for: owner, now: now) { return .coolingOff(earlier) }
            let first = recent.first(at: current) ?? now
            let trip = Trip(pod: pod, creates: creates, span: now - first, until: now + settings.coolOff, signature: .ownerRate(replicas: replicas))
            open.set(trip, for: owner, now: now)
            ownerCreates.remove(owner)
            return .tripped(trip)
        }
    }

    /// Remembers that kate patched a CREATE of one of `owner`'s pods (signature 2).
    public func recordOwnerPinned(_ owner: OwnerKey, now: ContinuousClock.Instant = .now) {
        guard settings.ownerFloor > 0 else { return }
        decide.withLock { _ in
            var recent = ownerCreates.value(for: owner, now: now) ?? OwnerCreates()
            recent.add(at: bucket(now), now: now)
            ownerCreates.set(recent, for: owner, now: now)
        }
    }

    /// Pinned CREATEs of `owner` in the window (for tests and diagnostics).
    public func ownerCreateCount(_ owner: OwnerKey, now: ContinuousClock.Instant = .now) -> Int {
        ownerCreates.value(for: owner, now: now)?.count(at: bucket(now)) ?? 0
    }

    /// The bucket `now` falls in: the window is `OwnerCreates.bucketCount` buckets wide.
    private func bucket(_ now: ContinuousClock.Instant) -> Int64 {
        let width = settings.window / OwnerCreates.bucketCount
        return Int64(((now - origin) / width).rounded(.down))
    }

    /// Owners currently cooling off (for tests and diagnostics).
    public var openOwners: Int { open.count }
}

/// One owner's pinned CREATEs over the last window, as counts in fixed buckets (a ring of `bucketCount`), so counting
/// is O(1) however many pods the owner has: the window slides in steps of window / `bucketCount` (1 min of 10).
struct OwnerCreates: Sendable {
    static let bucketCount = 10

    private struct Bucket: Sendable {
        var index: Int64 = .min
        var count = 0
        var first: ContinuousClock.Instant?
    }

    private var buckets = [Bucket](repeating: Bucket(), count: OwnerCreates.bucketCount)

    /// CREATEs in the buckets of the window ending in `current`.
    func count(at current: Int64) -> Int {
        var total = 0
        for bucket in buckets where bucket.index > current - Int64(Self.bucketCount) && bucket.index <= current { total += bucket.count }
        return total
    }

    /// The first CREATE still in the window.
    func first(at current: Int64) -> ContinuousClock.Instant? {
        buckets.filter { $0.index > current - Int64(Self.bucketCount) && $0.index <= current }.compactMap(\.first).min()
    }

    mutating func add(at current: Int64, now: ContinuousClock.Instant) {
        let slot = Int(((current % Int64(Self.bucketCount)) + Int64(Self.bucketCount)) % Int64(Self.bucketCount))
        if buckets[slot].index != current { buckets[slot] = Bucket(index: current, count: 0, first: now) }
        buckets[slot].count += 1
    }
}
