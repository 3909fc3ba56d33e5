import Foundation
@testable import KateRegistry
import RegistryTestSupport
import Testing

/// Issue 13's leftover: a credentialed cache hit probed the cache twice (anonymous, then the
/// credential). A tag's answers now sit under one key, so every hit is one probe.
@Suite("Resolver cache: one probe per image")
struct CacheProbeTests {
    @Test("a credentialed hit costs one cache probe (cached and resolve alike); another team's secret still misses")
    func oneProbePerHit() async throws {
        try await TestRegistry.withRunning(.basicAuthTLS(user: "alice", password: "s3cr:et")) { registry in
            _ = try await registry.push(repository: "private/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let ref = try ImageReference.parse("\(registry.host)/private/app:v1")
            let good = Keyring(sources: [(label: "imagePullSecret team-a/regcred", config: DockerConfig(entries: [
                .init(server: registry.host, username: "alice", password: "s3cr:et"),
            ]))])
            let other = Keyring(sources: [(label: "imagePullSecret team-b/regcred", config: DockerConfig(entries: [
                .init(server: registry.host, username: "alice", password: "nope"),
            ]))])
            _ = try await resolver.resolve(ref, keyring: good, deadline: soon())

            let counting = ResolverInstrumentation()
            let keyrings = KeyringInstrumentation()
            let hit = await ResolverInstrumentation.$current.withValue(counting) {
                await KeyringInstrumentation.$current.withValue(keyrings) {
                    let cached = resolver.cached(ref, keyring: good)
                    let resolved = try? await resolver.resolve(ref, keyring: good, deadline: soon())
                    // An array, not a tuple: see scripts/lint/async-tuples.py (Swift 6.3.1 -O).
                    return [cached?.source, resolved?.source]
                }
            }
            #expect(hit == [.cache, .cache])
            #expect(counting.probes == 2, "two hits, one probe each (was two each: anonymous, then the credential)")
            #expect(keyrings.keyParses == 0 && keyrings.identityComputations == 0)

            // The digest team A's secret learned is not served to team B's.
            #expect(resolver.cached(ref, keyring: other) == nil)
            #expect(resolver.cached(ref, keyring: .empty) == nil)
        }
    }
}
