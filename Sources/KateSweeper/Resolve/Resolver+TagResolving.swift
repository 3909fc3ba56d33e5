import KateRegistry

/// The real registry: resolution goes through the Resolver's cache and singleflight, so tags the webhook
/// resolved recently cost the sweep nothing.
extension Resolver: TagResolving {
    public func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String {
        try await resolve(reference, keyring: keyring, deadline: deadline).digest
    }

    public func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
        try await platformDigests(reference, indexDigest: indexDigest, keyring: keyring, deadline: deadline)
    }
    // `presence(of:digest:keyring:deadline:)` (DigestPresence.swift) and `platformList(of:digest:keyring:deadline:)`
    // (IndexPlatforms.swift) are Resolver's own methods, with the protocol's signatures.
}
