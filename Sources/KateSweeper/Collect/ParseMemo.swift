import KateContract
import KateKube
import KateRegistry

/// The parses and strings of one sweep, each done or stored once. 10,000 pods of 500 tags repeat the
/// same 500 image references and image IDs: parsing each of ~40,000 occurrences cost ~0.9 s, and
/// every decoded pod carries its own copy of the namespace, node, owner and tag strings. Interned,
/// the targets of pods that share them share one string buffer.
struct ParseMemo: Sendable {
    struct TrackingKey: Hashable {
        var original: String?
        var spec: String
    }

    /// What an `imageID` says, with the canonical repository name it was pulled from.
    struct Running: Sendable {
        var image: RunningImage
        var canonicalRepository: String? = nil
    }

    private var trackings: [TrackingKey: Tracking] = [:]
    private var pinned: [String: String?] = [:]
    private var runnings: [String: Running] = [:]
    private var originals: [String: [String: String]] = [:]
    private var strings: Set<String> = []
    private var owners: Set<OwnerReference> = []
    private var secretLists: Set<[String]> = []

    mutating func tracking(original: String?, spec: String) -> Tracking {
        let key = TrackingKey(original: original, spec: spec)
        if let known = trackings[key] { return known }
        let tracking = PodCollector.tracking(original: original, spec: spec)
        trackings[key] = tracking
        return tracking
    }

    /// The digest a spec image pins (`repo:tag@sha256:…`), nil if none or unparseable.
    mutating func pinnedDigest(_ specImage: String) -> String? {
        if let known = pinned[specImage] { return known }
        let digest = (try? ImageReference.parse(specImage))?.digest
        pinned[specImage] = digest
        return digest
    }

    mutating func running(_ imageID: String?) -> Running {
        let key = imageID ?? ""
        if let known = runnings[key] { return known }
        let image = ImageID.parse(imageID)
        var repository: String?
        if case .digest(let name, _) = image { repository = (try? ImageReference.parse(name))?.canonicalName }
        let running = Running(image: image, canonicalRepository: repository)
        runnings[key] = running
        return running
    }

    /// `kate.dev/original-images`, decoded once per distinct value: the replicas of one ReplicaSet carry the same
    /// annotation, and Foundation's decoder costs ~10 µs a pod.
    mutating func originalImages(_ annotation: String?) -> [String: String] {
        guard let annotation else { return [:] }
        if let known = originals[annotation] { return known }
        let decoded = OriginalImages.decode(annotation) ?? [:]
        originals[annotation] = decoded
        return decoded
    }

    mutating func intern(_ string: String) -> String {
        // Small strings live inline in the String value; only larger ones are worth sharing.
        guard string.utf8.count > 15 else { return string }
        return strings.insert(string).memberAfterInsert
    }

    mutating func intern(_ owner: OwnerReference) -> OwnerReference {
        owners.insert(owner).memberAfterInsert
    }

    mutating func intern(_ secrets: [String]) -> [String] {
        guard !secrets.isEmpty else { return secrets }
        return secretLists.insert(secrets).memberAfterInsert
    }
}
