import Foundation
import KateRegistry

/// A digest for one tag, and where it came from (which decides the warning a pod gets).
public struct DigestResolution: Sendable, Equatable {
    public enum Source: String, Sendable {
        /// Asked the registry now.
        case registry
        /// The resolver's fresh cache.
        case cache
        /// The registry failed; this is the last digest known within the stale-if-error window.
        case stale
        /// Another pod of the same owner revision already got this digest (RevisionMemory).
        case revision
    }

    public var digest: String
    public var resolvedAt: Date
    public var source: Source

    public init(digest: String, resolvedAt: Date, source: Source) {
        self.digest = digest
        self.resolvedAt = resolvedAt
        self.source = source
    }
}

/// The one thing admission needs from the registry layer. `KateRegistry.Resolver` conforms
/// (below); unit tests of the pinning logic use a fake, the end-to-end tests the real resolver
/// against the real `docker-registry`.
public protocol DigestResolving: Sendable {
    /// Resolves `reference`'s tag before `deadline`. With `staleIfErrorWithin`, a registry failure
    /// may be answered with the last known digest no older than that (source `.stale`).
    func resolveDigest(
        _ reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant, staleIfErrorWithin: Duration?
    ) async throws -> DigestResolution

    /// The digest a fresh cache already holds for `reference`, without suspending; nil when a
    /// lookup is needed. The default says "always look up".
    func cachedDigest(_ reference: ImageReference, keyring: Keyring) -> DigestResolution?
}

extension DigestResolving {
    public func cachedDigest(_ reference: ImageReference, keyring: Keyring) -> DigestResolution? { nil }
}

extension Resolver: DigestResolving {
    public func cachedDigest(_ reference: ImageReference, keyring: Keyring) -> DigestResolution? {
        cached(reference, keyring: keyring).map { DigestResolution(digest: $0.digest, resolvedAt: $0.resolvedAt, source: .cache) }
    }

    public func resolveDigest(
        _ reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant, staleIfErrorWithin: Duration?
    ) async throws -> DigestResolution {
        let image: ResolvedImage
        if let maxAge = staleIfErrorWithin {
            image = try await resolve(reference, keyring: keyring, deadline: deadline, staleIfErrorWithin: maxAge)
        } else {
            image = try await resolve(reference, keyring: keyring, deadline: deadline)
        }
        let source: DigestResolution.Source
        switch image.source {
        case .registry: source = .registry
        case .cache: source = .cache
        case .stale: source = .stale
        }
        return DigestResolution(digest: image.digest, resolvedAt: image.resolvedAt, source: source)
    }
}
