import Foundation
import KateKube
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
    }

    private struct Key: Hashable, Sendable {
        var revision: Revision
        var image: String
    }

    public struct Entry: Sendable, Equatable {
        public var digest: String
        public var resolvedAt: Date
    }

    /// The labels controllers stamp on pods with the hash of the template that made them.
    static let revisionLabels = ["pod-template-hash", "controller-revision-hash"]

    private let cache: ExpiringCache<Key, Entry>

    public init(capacity: Int = 8192, timeToLive: Duration = .seconds(24 * 3600)) {
        cache = ExpiringCache(capacity: capacity, timeToLive: timeToLive)
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
}
