import KateRegistry

/// The registry questions a sweep asks. `Resolver` conforms below; unit tests use a dictionary.
public protocol TagResolving: Sendable {
    /// The digest the tag points to now (an index digest for multi-arch images).
    func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String
    /// The platform manifests of an index; [] for a plain manifest.
    func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String>
    /// Whether the registry still has the manifest `digest` in `reference`'s repository (the
    /// dangling-pin sentinel): a HEAD by digest.
    func presence(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async -> DigestPresence
    /// The platforms an index lists (the platform-coverage gate): one GET per digest.
    func platformList(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> PlatformList
}

extension TagResolving {
    /// Resolvers that do not model a registry's storage (test doubles written before the sentinel)
    /// hold every digest: nothing dangles.
    public func presence(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async -> DigestPresence {
        .present
    }

    /// Resolvers that cannot ask never gate a roll: a single-platform answer is not compared.
    public func platformList(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> PlatformList {
        .singlePlatform
    }
}
