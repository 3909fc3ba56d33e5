import Foundation
import KateRegistry
import RegistryTestSupport
import Synchronization
import Testing

/// `Resolver.invalidate` (a push notification) against a lookup already in flight: the lookup that
/// began before the push must neither hand its old answer to lookups after the push nor cache it.
@Suite("Invalidation while a lookup is in flight")
struct InvalidationTests {
    static let before = "sha256:" + String(repeating: "a", count: 64)
    static let after = "sha256:" + String(repeating: "b", count: 64)

    @Test("a resolve after invalidate starts its own lookup and gets the pushed digest; the older lookup does not overwrite the cache")
    func inFlightLookupDoesNotWin() async throws {
        // The first HEAD answers the digest from before the push, slowly; every later one the pushed digest.
        let registry = try await ScriptedHTTPServer.start { method, path, index in
            guard method == "HEAD", path.hasSuffix("/manifests/1") else { return .init(status: 200) }
            let digest = index == 0 ? Self.before : Self.after
            return .init(
                status: 200, headers: [("Docker-Content-Digest", digest), ("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                delay: index == 0 ? .milliseconds(800) : .zero)
        }
        let resolver = makeResolver(scripted: [registry.host])
        let reference = try ImageReference.parse("\(registry.host)/shop/web:1")

        let early = Task { try await resolver.resolve(reference, deadline: soon()).digest }
        // Wait until the slow HEAD is at the registry, then the push arrives.
        let waitUntil = ContinuousClock.now + .seconds(5)
        while !registry.requests.contains(where: { $0.method == "HEAD" }) {
            try #require(ContinuousClock.now < waitUntil, "the first HEAD never arrived")
            try await Task.sleep(for: .milliseconds(5))
        }
        resolver.invalidate(reference)

        let late = try await resolver.resolve(reference, deadline: soon()).digest
        #expect(late == Self.after, "a lookup after the push must not wait for the one from before it")
        #expect(try await early.value == Self.before)
        // The early lookup finished last; the cache must still hold what the registry said after the push.
        #expect(resolver.cached(reference)?.digest == Self.after)
        #expect(registry.requests.filter { $0.method == "HEAD" }.count == 2)
        await resolver.shutdown()
        await registry.stop()
    }
}
