import Foundation
import KateNet

/// An OCI platform as an index entry and a node describe it (`linux/arm64/v8`).
public struct Platform: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    /// `v7`, `v8`; nil when not stated. Nodes do not report one (see `covers`).
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os.lowercased()
        self.architecture = architecture.lowercased()
        self.variant = variant.flatMap { $0.isEmpty ? nil : $0.lowercased() }
    }

    /// `linux/arm64`, `linux/arm/v7`.
    public static func parse(_ text: String) -> Platform? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    public static func < (lhs: Platform, rhs: Platform) -> Bool { lhs.description < rhs.description }

    /// Whether an image entry for `self` runs where `needed` is asked for. A node reports only
    /// os/arch (`status.nodeInfo`, `kubernetes.io/arch`), so a need without a variant is met by any
    /// variant of its architecture; a need with one (from a nodeSelector or affinity naming it) by
    /// that variant or an entry that states none.
    public func covers(_ needed: Platform) -> Bool {
        guard os == needed.os, architecture == needed.architecture else { return false }
        guard let wanted = needed.variant, let variant else { return true }
        return wanted == variant
    }

    /// The platforms in `needed` that no entry of `offered` covers, sorted.
    public static func missing(_ needed: Set<Platform>, from offered: Set<Platform>) -> [Platform] {
        needed.filter { need in !offered.contains { $0.covers(need) } }.sorted()
    }
}

/// What a manifest says about where it runs.
public enum PlatformList: Sendable, Equatable {
    /// An index (or Docker manifest list) and the platforms of its image entries; attestation
    /// entries (`unknown/unknown`) are left out.
    case index(Set<Platform>)
    /// A single-platform manifest: its platform would take a second GET (the config blob), so kate
    /// does not gate on it (README, "Platform-coverage gate").
    case singlePlatform
}

extension Resolver {
    /// The platform list of the manifest `digest` names in `reference`'s repository: one GET per
    /// digest (a digest's content never changes, so the answer is cached), none when the digest is
    /// already known to be a single-platform manifest.
    public func platformList(
        of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant
    ) async throws -> PlatformList {
        let key = DigestKey(registry: reference.registry, repository: reference.repository, digest: digest)
        if let mediaType = mediaTypes.value(for: key), ManifestMediaType.isKnown(mediaType), !ManifestMediaType.isIndex(mediaType) {
            return .singlePlatform
        }
        if let known = platformLists.value(for: key) { return known }
        let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        let deadline = min(deadline, ContinuousClock.now + configuration.requestTimeout)
        do {
            return try await platformFlights.run(key, deadline: deadline) { [self] in
                try await fetchPlatformList(key, reference: reference, keyring: keyring, credentials: credentials, deadline: deadline)
            }
        } catch {
            throw mapping.map(error, host: reference.registry)
        }
    }

    private func fetchPlatformList(
        _ key: DigestKey, reference: ImageReference, keyring: Keyring, credentials: [Credential], deadline: ContinuousClock.Instant
    ) async throws -> PlatformList {
        var lastError: (any Error)?
        for endpoint in configuration.endpoints(for: reference.registry) {
            do {
                let creds = endpoint.isMirror ? keyring.credentials(registry: endpoint.host, repository: reference.repository) : credentials
                let result = try await fetcher.fetch(key.digest, repository: reference.repository, endpoint: endpoint, credentials: creds, deadline: deadline)
                let list = try ManifestDocument.platformList(of: result.body ?? [], mediaType: result.mediaType)
                platformLists.set(list, for: key)
                return list
            } catch {
                lastError = error
            }
        }
        throw lastError ?? CancellationError()
    }
}

extension ManifestDocument {
    /// The platforms an index lists; `.singlePlatform` for an image manifest.
    /// - Throws: `ManifestFailure.mismatch` for an index whose entries cannot be read: taken for
    ///   "no platforms" it would gate every roll.
    static func platformList(of body: [UInt8], mediaType: String?) throws(ManifestFailure) -> PlatformList {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw .mismatch("manifest \(mediaType ?? "") is not a JSON object")
        }
        let declared = ManifestMediaType.isIndex(mediaType) ? mediaType : object["mediaType"] as? String
        guard let entries = object["manifests"] else {
            if ManifestMediaType.isIndex(declared) { throw .mismatch("index (\(declared ?? "")) has no \"manifests\" list") }
            return .singlePlatform
        }
        guard let manifests = entries as? [[String: Any]] else { throw .mismatch("index \"manifests\" is not a list of objects") }
        var platforms = Set<Platform>()
        for entry in manifests {
            // Entries without a platform (artifacts) or BuildKit's attestations (unknown/unknown) run nowhere.
            guard let platform = entry["platform"] as? [String: Any], let os = platform["os"] as? String,
                let architecture = platform["architecture"] as? String, os != "unknown", architecture != "unknown"
            else { continue }
            platforms.insert(Platform(os: os, architecture: architecture, variant: platform["variant"] as? String))
        }
        return .index(platforms)
    }
}
