import KateKube
import KateRegistry
import Logging

/// An index's platform list (`KateRegistry.Resolver` conforms).
public protocol PlatformListing: Sendable {
    func platformList(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> PlatformList
}

extension Resolver: PlatformListing {}

/// The webhook's platform-coverage gate: before a tag is pinned to a digest not seen for it
/// before, the digest's index must list every platform the nodes run. Otherwise the pod keeps the
/// tag's previous digest (or, with none, stays unpinned), with a warning naming the missing
/// platforms; the next review that resolves the tag checks again.
///
/// Cost: a digest accepted for a tag is remembered, so the common review (the tag did not move)
/// is one dictionary lookup. A new digest costs one GET of its index (cached per digest by the
/// resolver) and the node list (cached for a minute).
public final class PlatformGate: Sendable {
    private let lister: any PlatformListing
    private let nodes: any NodePlatformProviding
    /// Tag (`canonicalName:tag`) → the digest last accepted for it.
    private let accepted: ExpiringCache<String, String>

    public init(lister: any PlatformListing, nodes: any NodePlatformProviding, capacity: Int = 8192, timeToLive: Duration = .seconds(7 * 86_400)) {
        self.lister = lister
        self.nodes = nodes
        accepted = ExpiringCache(capacity: capacity, timeToLive: timeToLive)
    }

    public enum Decision: Sendable, Equatable {
        case accept
        /// Keep `previous` (nil: leave the tag unpinned); `missing` are the platforms the new digest lacks.
        case keep(previous: String?, missing: [Platform])
    }

    static func tagKey(_ reference: ImageReference) -> String { reference.canonicalName + ":" + reference.trackedTag }

    /// The digest last accepted for the tag, without a request.
    public func acceptedDigest(for reference: ImageReference) -> String? { accepted.value(for: Self.tagKey(reference)) }

    /// - Parameters:
    ///   - selection: the pod's nodeSelector/affinity on os and arch: then the platforms it selects
    ///     are what must be covered, not every node's.
    ///   - record: false for dry runs (they leave no state behind).
    public func review(
        _ reference: ImageReference, digest: String, keyring: Keyring, selection: PlatformSelection?, deadline: ContinuousClock.Instant,
        record: Bool, logger: Logger
    ) async -> Decision {
        let key = Self.tagKey(reference)
        let previous = accepted.value(for: key)
        if previous == digest { return .accept }
        guard let nodePlatforms = await nodes.platforms(deadline: deadline, logger: logger), !nodePlatforms.isEmpty else { return .accept }
        let inUse = selection.map { selection in
            Set(selection.required(nodes: nodePlatforms.map { ($0.os, $0.architecture) }).map { Platform(os: $0.os, architecture: $0.architecture) })
        } ?? nodePlatforms
        let list: PlatformList
        do {
            list = try await lister.platformList(of: reference, digest: digest, keyring: keyring, deadline: deadline)
        } catch {
            // Unknown is not a gap: pin as before, and check again on the next review (not recorded).
            logger.debug("platform gate could not read the index; pinning without the check", metadata: ["image": "\(reference)", "error": "\(error)"])
            return .accept
        }
        if case .index(let offered) = list {
            let missing = Platform.missing(inUse, from: offered)
            if !missing.isEmpty { return .keep(previous: previous, missing: missing) }
        }
        // Accepted for a pod with a platform selection holds for pods of that selection only: not recorded.
        if record, selection == nil { accepted.set(digest, for: key) }
        return .accept
    }
}

/// The gate applied to one review's fresh resolutions (PodPinner): a digest that lacks a platform
/// in use is replaced by the tag's previous digest, with a warning; stale-if-error answers are not
/// gated (the registry is down; the index could not be read anyway).
enum PlatformGateStep {
    static func apply(
        _ gate: PlatformGate, to results: inout [ImageReference: Result<DigestResolution, ResolutionFailure>], pod: Pod, keyring: Keyring,
        deadline: ContinuousClock.Instant, record: Bool, logger: Logger
    ) async -> [String] {
        var warnings: [String] = []
        let selection = pod.spec.platformSelection
        for (reference, result) in results.sorted(by: { $0.key.original < $1.key.original }) {
            guard case .success(let resolution) = result, resolution.source != .stale else { continue }
            let decision = await gate.review(
                reference, digest: resolution.digest, keyring: keyring, selection: selection, deadline: deadline, record: record, logger: logger)
            guard case .keep(let previous, let missing) = decision else { continue }
            let names = missing.map(\.description).joined(separator: ", ")
            let new = Digest.short(resolution.digest)
            if let previous {
                results[reference] = .success(DigestResolution(digest: previous, resolvedAt: resolution.resolvedAt, source: .cache))
                warnings.append(WarningText.compose(
                    image: reference.original, "kept \(Digest.short(previous)): new \(new) lacks \(names) (platform gate)"))
            } else {
                // Nothing to keep: the kubelet would pull this index by tag anyway, so it is pinned, with the warning.
                warnings.append(WarningText.compose(image: reference.original, "\(new) lacks \(names) (platform gate)"))
            }
            logger.debug("platform gap", metadata: ["image": "\(reference)", "digest": "\(resolution.digest)", "missing": "\(names)"])
        }
        return warnings
    }
}
