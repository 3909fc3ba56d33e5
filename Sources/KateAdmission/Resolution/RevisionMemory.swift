import Foundation
import KateKube
import KateNet
import KateRegistry

/// Remembers which digest each owner revision got for each tag, so every pod of one
/// ReplicaSet (or StatefulSet/DaemonSet revision) runs the same digest even if the tag moves
/// in the middle of a scale-up. Without it, pods of one revision created a minute apart can
/// pin different digests — the thing pinning is supposed to prevent.
public final class RevisionMemory: Sendable {
    /// (namespace, controller uid, revision hash): the identity of "one rollout".
    public struct Revision: Hashable, Sendable, CustomStringConvertible {
        public var namespace: String
        public var ownerUID: String
        public var hash: String
        public var description: String { "\(namespace)/\(ownerUID)@\(hash)" }

        public init(namespace: String, ownerUID: String, hash: String) {
            self.namespace = namespace
            self.ownerUID = ownerUID
            self.hash = hash
        }
    }

    private struct Key: Hashable, Sendable {
        var revision: Revision
        var image: String
    }

    public struct Entry: Sendable, Equatable {
        public var digest: String
        public var resolvedAt: Date

        public init(digest: String, resolvedAt: Date) {
            self.digest = digest
            self.resolvedAt = resolvedAt
        }
    }

    /// The labels controllers stamp on pods with the hash of the template that made them.
    static let revisionLabels = ["pod-template-hash", "controller-revision-hash"]

    private let cache: ExpiringCache<Key, Entry>
    /// Asks the registry whether a remembered digest still exists (nil: never asked, `--no-dangling-check`).
    private let presence: (any DigestPresenceChecking)?
    /// `repository@digest` → the registry answered 404 (true) or 2xx (false), for `presenceTTL`: a
    /// rollout's hundreds of pods cost one HEAD per digest per TTL, and a cached answer no request.
    private let presenceAnswers: ExpiringCache<String, Bool>
    /// How long a HEAD-by-digest answer is trusted; also the longest a deleted digest keeps being
    /// handed out to a rollout's new pods.
    public let presenceTTL: Duration
    /// The most a HEAD may take of a review: an unanswered check keeps the remembered digest.
    static let presenceBudget = Duration.seconds(2)

    public init(
        capacity: Int = 8192, timeToLive: Duration = .seconds(24 * 3600), presence: (any DigestPresenceChecking)? = nil,
        presenceTTL: Duration = .seconds(600)
    ) {
        cache = ExpiringCache(capacity: capacity, timeToLive: timeToLive)
        self.presence = presence
        self.presenceTTL = presenceTTL
        presenceAnswers = ExpiringCache(capacity: capacity, timeToLive: presenceTTL)
    }

    /// The pod's revision, or nil for pods without a controller or a revision label (bare pods,
    /// Jobs): those have no "rollout" to keep consistent.
    public static func revision(of pod: Pod, namespace: String?) -> Revision? {
        guard let owner = pod.metadata.controller, !owner.uid.isEmpty else { return nil }
        guard let labels = pod.metadata.labels,
            let hash = revisionLabels.lazy.compactMap({ labels[$0] }).first, !hash.isEmpty
        else { return nil }
        return Revision(namespace: namespace ?? pod.metadata.namespace ?? "", ownerUID: owner.uid, hash: hash)
    }

    /// The tag identity, independent of spelling (`nginx:1.27` = `docker.io/library/nginx:1.27`).
    static func imageKey(_ reference: ImageReference) -> String {
        reference.canonicalName + ":" + reference.trackedTag
    }

    public func digest(for reference: ImageReference, in revision: Revision) -> Entry? {
        cache.value(for: Key(revision: revision, image: Self.imageKey(reference)))
    }

    public func remember(_ entry: Entry, for reference: ImageReference, in revision: Revision) {
        cache.set(entry, for: Key(revision: revision, image: Self.imageKey(reference)))
    }

    public var count: Int { cache.count }

    /// What the revision remembers for `references`, minus digests the registry no longer has:
    /// those are forgotten, so the pod re-resolves the tag (a dangling pin would fail to pull on
    /// any node without the image). A digest's presence is checked by HEAD once per `presenceTTL`
    /// (cached answers cost nothing; `credentials` is called only when a HEAD is needed). A 5xx or
    /// timeout keeps the remembered digest: only a 404 makes it unusable.
    public func usableDigests(
        for references: [ImageReference], in revision: Revision, credentials: () async -> Keyring, deadline: ContinuousClock.Instant
    ) async -> [ImageReference: Entry] {
        var usable: [ImageReference: Entry] = [:]
        var unchecked: [(ImageReference, Entry)] = []
        for reference in references {
            guard let entry = digest(for: reference, in: revision) else { continue }
            guard presence != nil else {
                usable[reference] = entry
                continue
            }
            switch presenceAnswers.value(for: Self.location(reference, entry.digest)) {
            case .some(false): usable[reference] = entry
            case .some(true): cache.remove(Key(revision: revision, image: Self.imageKey(reference)))
            case .none: unchecked.append((reference, entry))
            }
        }
        guard let presence, !unchecked.isEmpty else { return usable }
        let keyring = await credentials()
        let headDeadline = min(deadline, ContinuousClock.now + Self.presenceBudget)
        for (reference, entry) in unchecked {
            let answer = await withDeadline(headDeadline) {
                await presence.presence(of: reference, digest: entry.digest, keyring: keyring, deadline: headDeadline)
            } ?? .unknown("no answer within \(Self.presenceBudget)")
            switch answer {
            case .present:
                presenceAnswers.set(false, for: Self.location(reference, entry.digest))
                usable[reference] = entry
            case .missing:
                presenceAnswers.set(true, for: Self.location(reference, entry.digest))
                cache.remove(Key(revision: revision, image: Self.imageKey(reference)))
            case .unknown:
                usable[reference] = entry
            }
        }
        return usable
    }

    /// Whether the registry answered 404 for `digest` within `presenceTTL` (no request).
    public func isKnownDangling(_ reference: ImageReference, digest: String) -> Bool {
        presenceAnswers.value(for: Self.location(reference, digest)) == true
    }

    private static func location(_ reference: ImageReference, _ digest: String) -> String {
        reference.canonicalName + "@" + digest
    }
}

/// HEAD by digest (`KateRegistry.Resolver` conforms); the dangling-pin check of the revision memory.
public protocol DigestPresenceChecking: Sendable {
    func presence(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async -> DigestPresence
}

extension Resolver: DigestPresenceChecking {}
