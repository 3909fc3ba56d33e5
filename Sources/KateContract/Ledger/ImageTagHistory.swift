import Foundation
import KateKube
import KateNet
import KateRegistry

/// The reference text the ledger keys a tag by: kate's canonical form with the tag
/// (`docker.io/library/nginx:latest`). The webhook and the sweeper both key by it, so a digest one
/// records is the digest the other finds.
public enum LedgerKey {
    public static func reference(_ image: ImageReference) -> String { reference(canonicalName: image.canonicalName, tag: image.trackedTag) }
    public static func reference(canonicalName: String, tag: String) -> String { "\(canonicalName):\(tag)" }
}

/// One tag's history in kate's digest ledger: a `kate.dev/v1alpha1` ImageTagHistory object in
/// kate's namespace (CRD: charts/kate/crds/imagetaghistories.yaml). The cluster is kate's
/// database: every webhook replica and the sweeper read the same facts (when kate first saw a
/// digest is what a cooldown gate needs; registries do not say when something was pushed).
public struct ImageTagHistory: Codable, Sendable, Equatable, KubeObject {
    public static let apiVersion = "kate.dev/v1alpha1"
    public static let kind = "ImageTagHistory"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: Spec

    public struct Spec: Codable, Sendable, Equatable {
        /// The tag as kate normalizes references: `docker.io/library/nginx:1.27`.
        public var reference: String
        /// The digests the tag has meant, newest first (by `firstSeen`), at most the ledger's bound.
        public var digests: [DigestRecord]

        public init(reference: String, digests: [DigestRecord] = []) {
            self.reference = reference
            self.digests = digests
        }
    }

    public struct DigestRecord: Codable, Sendable, Equatable {
        public var digest: String
        /// RFC 3339 (`metav1.Time`): when kate first resolved the tag to this digest.
        public var firstSeen: String
        /// When kate last resolved the tag to it.
        public var lastSeen: String
        /// An index's platforms (`linux/amd64`, `linux/arm64/v8`); absent for a single manifest or when unknown.
        public var platforms: [String]?
        /// `dangling` (the registry no longer has it), `bad` (a rollout to it failed). Strings, not an
        /// enum: a newer kate's flag must not make an older one unable to read the object.
        public var flags: [String]?

        public init(digest: String, firstSeen: String, lastSeen: String, platforms: [String]? = nil, flags: [String]? = nil) {
            self.digest = digest
            self.firstSeen = firstSeen
            self.lastSeen = lastSeen
            self.platforms = platforms
            self.flags = flags
        }

        public var firstSeenDate: Date? { RFC3339.parse(firstSeen) }
        public var lastSeenDate: Date? { RFC3339.parse(lastSeen) }
    }

    public enum Flag {
        public static let dangling = "dangling"
        public static let bad = "bad"
    }

    public init(namespace: String, spec: Spec) {
        self.apiVersion = Self.apiVersion
        self.kind = Self.kind
        self.metadata = ObjectMeta(name: Self.objectName(for: spec.reference), namespace: namespace, labels: ["app.kubernetes.io/managed-by": "kate"])
        self.spec = spec
    }

    /// References are not object names (`/`, `:`, upper case, 255 characters): the name is a
    /// digest of the reference, and `spec.reference` keeps the text.
    public static func objectName(for reference: String) -> String {
        // `SHA256.hex` hashes its input: given the hash, it would name the object by a hash of the hash.
        "tag-" + SHA256.hex(Array(reference.utf8)).prefix(40)
    }
}

extension ResourcePath {
    public static let imageTagHistories = ResourcePath(group: "kate.dev", version: "v1alpha1", resource: "imagetaghistories")
}

extension ImageTagHistory.Spec {
    /// This history after kate resolved the tag to `digest` at `date`, or nil when nothing worth a
    /// write changed (the digest is known and its `lastSeen` is younger than `resolution`): the
    /// webhook resolves the same tag many times a minute, the ledger is written about once.
    public func recording(
        digest: String, platforms: [String]?, at date: Date, keep bound: Int, resolution: Duration
    ) -> ImageTagHistory.Spec? {
        var next = self
        let stamp = RFC3339.format(date)
        if let index = next.digests.firstIndex(where: { $0.digest == digest }) {
            var record = next.digests[index]
            let age = record.lastSeenDate.map { date.timeIntervalSince($0) } ?? .infinity
            let newPlatforms = platforms.map { $0.isEmpty ? nil : $0 } ?? record.platforms
            guard age >= resolution.seconds || newPlatforms != record.platforms else { return nil }
            record.lastSeen = max(record.lastSeen, stamp)
            record.platforms = newPlatforms
            next.digests[index] = record
        } else {
            next.digests.append(ImageTagHistory.DigestRecord(digest: digest, firstSeen: stamp, lastSeen: stamp, platforms: platforms.flatMap { $0.isEmpty ? nil : $0 }))
        }
        next.digests.sort { ($0.firstSeen, $0.lastSeen) > ($1.firstSeen, $1.lastSeen) }
        if next.digests.count > max(1, bound) { next.digests.removeLast(next.digests.count - max(1, bound)) }
        return next
    }

    /// This history with `flag` set on `digest`, or nil when the digest is unknown or already flagged.
    public func flagging(digest: String, _ flag: String) -> ImageTagHistory.Spec? {
        guard let index = digests.firstIndex(where: { $0.digest == digest }), !(digests[index].flags ?? []).contains(flag) else { return nil }
        var next = self
        next.digests[index].flags = ((digests[index].flags ?? []) + [flag]).sorted()
        return next
    }

    /// The newest digest kate has known for at least `age` at `date` (a cooldown gate's choice), skipping
    /// `bad` ones and `dangling` ones (a pod pinned to a digest the registry no longer has cannot start).
    public func newestDigest(knownFor age: Duration, at date: Date) -> ImageTagHistory.DigestRecord? {
        digests.first { record in
            let flags = record.flags ?? []
            guard let first = record.firstSeenDate, !flags.contains(ImageTagHistory.Flag.bad), !flags.contains(ImageTagHistory.Flag.dangling) else {
                return false
            }
            return date.timeIntervalSince(first) >= age.seconds
        }
    }

    /// The record of `digest`, if the ledger knows it.
    public func record(of digest: String) -> ImageTagHistory.DigestRecord? { digests.first { $0.digest == digest } }

    /// The newest `lastSeen` of any digest: when kate last saw the tag in use (ledger GC's clock).
    public var lastSeenDate: Date? { digests.compactMap(\.lastSeenDate).max() }
}
