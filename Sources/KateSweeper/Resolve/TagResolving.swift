import KateRegistry

/// The registry questions a sweep asks. `Resolver` conforms below; unit tests use a dictionary.
public protocol TagResolving: Sendable {
    /// The digest the tag points to now (an index digest for multi-arch images).
    func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String
    /// The platform manifests of an index; [] for a plain manifest.
    func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String>
}
