import Foundation
import KateRegistry
import Testing

extension Reliability {
    /// Regression: the sweeper fault tests found every digest KateRegistry computed from a manifest
    /// body to be sha256(sha256(body)) — `Digest.sha256Hex` hashed, then passed the hash to
    /// `KateNet.SHA256.hex`, which hashes again. A registry that omits `Docker-Content-Digest` on HEAD
    /// would have had every pod pinned to a digest that does not exist, and every platform listing
    /// failed as a digest mismatch (so the sweeper judged every pod "unknown"). Fixed in Digest.swift.
    @Suite("Registry digests computed from manifest bodies", .timeLimit(.minutes(1)))
    struct RegistryDigestRegressionTests {
        @Test("HEAD without Docker-Content-Digest: the GET fallback pins sha256 of the exact body")
        func digestFromBody() async throws {
            let registry = try await FaultyRegistry.start()
            registry.setSteady(.serveWithoutDigestHeader)
            let resolver = Resolver(
                configuration: ResolverConfiguration(registries: [registry.host: RegistrySettings(plainHTTP: true)]), logger: Reliability.quietLogger)
            let reference = try ImageReference.parse("\(registry.host)/shop/web:2.4.1")
            let resolved = try await resolver.resolve(reference, deadline: .now + .seconds(5))
            // A wrong digest here is a pod that cannot be pulled: the webhook would pin it cluster-wide.
            #expect(resolved.digest == FaultyRegistry.digest)
            #expect(registry.manifestRequests == 2, "expected HEAD then GET")
            await resolver.shutdown()
            await registry.stop()
        }

        @Test("the platform list of a single-platform manifest is empty, not a digest-mismatch error")
        func platformsOfPlainManifest() async throws {
            let registry = try await FaultyRegistry.start()
            let resolver = Resolver(
                configuration: ResolverConfiguration(registries: [registry.host: RegistrySettings(plainHTTP: true)]), logger: Reliability.quietLogger)
            let reference = try ImageReference.parse("\(registry.host)/shop/web:2.4.1")
            let platforms = try await resolver.platformDigests(
                reference, indexDigest: FaultyRegistry.digest, keyring: .empty, deadline: .now + .seconds(5))
            #expect(platforms.isEmpty)
            await resolver.shutdown()
            await registry.stop()
        }
    }
}
