import Foundation
import KateRegistry
import RegistryTestSupport
import Synchronization
import Testing

/// Counts what the registry, its token server and the TCP path see for a sweep-shaped workload, so
/// a change that adds round trips fails here instead of only showing up in a benchmark.
@Suite("Registry round trips (token-auth registry behind a counting proxy)")
struct RoundTripTests {
    /// 20 tags of one repository (2 of them multi-arch indexes), asked under two credential scopes
    /// (two pull secrets with the same account, as two namespaces have), each tag resolved and then
    /// its platform digests listed, everything concurrently — what `kate sweep` does for 20 stale tags.
    @Test("cold sweep of 20 tags under two scopes: one 401 probe, GETs only for the 2 indexes, once each")
    func sweepShapedWorkload() async throws {
        try await TestRegistry.withRunning(.tokenAuthTLS(user: "bot", password: "s3cret")) { registry in
            let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: .zero)
            do {
                var pushed: [String: String] = [:]
                var indexes: Set<String> = []
                for i in 0..<2 {
                    let index = try await registry.pushIndex(repository: "fleet/app", tag: "v\(i)")
                    pushed["v\(i)"] = index.index
                    indexes.insert(index.index)
                }
                pushed.merge(try await registry.pushMany(repository: "fleet/app", tags: (2..<20).map { "v\($0)" })) { a, _ in a }
                let late = try await registry.pushIndex(repository: "fleet/app", tag: "late")
                let tokensBefore = registry.tokenServer?.requestCount ?? 0
                let connectionsBefore = proxy.connections
                let before = try await registry.receivedRequests().count
                let resolver = makeResolver { configuration in
                    configuration.registries[proxy.host] = RegistrySettings(caFile: registry.caFile)
                }
                // Two namespaces' pull secrets: the same account, spelled differently, so their
                // credential identities differ and their answers are cached apart.
                let scopes = [proxy.host, "https://\(proxy.host)"].enumerated().map { index, server in
                    Keyring(sources: [(label: "imagePullSecret ns\(index)/regcred", config: DockerConfig(entries: [.init(server: server, username: "bot", password: "s3cret")]))])
                }
                let indexSet = indexes
                let host = proxy.host
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for keyring in scopes {
                        for (tag, digest) in pushed {
                            group.addTask {
                                let reference = try ImageReference.parse("\(host)/fleet/app:\(tag)")
                                let resolved = try await resolver.resolve(reference, keyring: keyring, deadline: soon())
                                #expect(resolved.digest == digest)
                                let children = try await resolver.platformDigests(reference, indexDigest: resolved.digest, keyring: keyring, deadline: soon())
                                #expect(children.isEmpty == !indexSet.contains(digest))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let requests = try await registry.receivedRequests().dropFirst(before)
                let manifests = requests.filter { $0.target.hasPrefix("/v2/fleet/app/manifests/") }
                let unauthorized = requests.filter { $0.status == 401 }
                let gets = manifests.filter { $0.method == "GET" }
                let heads = manifests.filter { $0.method == "HEAD" && $0.status == 200 }
                let tokens = (registry.tokenServer?.requestCount ?? 0) - tokensBefore
                let connections = proxy.connections - connectionsBefore
                let summary = "401s \(unauthorized.count), HEAD 200 \(heads.count), GET \(gets.count), token requests \(tokens), connections \(connections)"
                print("round trips: \(summary)")
                #expect(unauthorized.count <= 1, "only the first request may discover the challenge: \(summary)")
                #expect(heads.count == 40, "one HEAD per tag and credential scope: \(summary)")
                #expect(gets.count == 2, "GET only the two indexes, each once for both scopes: \(summary)")
                #expect(Set(gets.map { String($0.target.split(separator: "/").last ?? "") }) == indexes)
                #expect(tokens == 2, "one token per credential identity and repository: \(summary)")
                #expect(connections <= 32, "connections are pooled (at most the per-registry concurrency): \(summary)")

                // A late lookup and platform list, after the burst: pooled connections, no new handshake.
                let lateReference = try ImageReference.parse("\(host)/fleet/app:late")
                let lateDigest = try await resolver.resolve(lateReference, keyring: scopes[0], deadline: soon()).digest
                #expect(lateDigest == late.index)
                #expect(try await resolver.platformDigests(lateReference, indexDigest: lateDigest, keyring: scopes[0], deadline: soon()) == Set(late.children))
                #expect(proxy.connections - connectionsBefore == connections, "the late HEAD and GET reused pooled connections")
                await resolver.shutdown()
            } catch {
                await proxy.stop()
                throw error
            }
            await proxy.stop()
        }
    }
}

/// The first credentialed request to a host learns its challenge; the others wait for that answer. Their
/// connections must be opened during the wait, not after it: on a distant registry that is the TCP and TLS
/// round trips of every waiting lookup (`bench-registry roundtrips`: 7.1 → 6.1 round trips).
@Suite("Connections opened while waiting for the challenge")
struct PreconnectTests {
    @Test("8 cold credentialed lookups: 8 connections are open while the first 401 is still being answered")
    func waitersConnectDuringTheChallenge() async throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        // The anonymous probe (the first HEAD of all) gets its 401 after 1.5 s; everything after it is answered at once.
        let heads = HeadCounter()
        let registry = try await ScriptedHTTPServer.start { method, _, _ in
            method == "HEAD" && heads.next() == 0
                ? .init(status: 401, headers: [("WWW-Authenticate", #"Basic realm="test""#)], delay: .milliseconds(1500))
                : .init(status: 200, headers: [("Docker-Content-Digest", digest), ("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
        }
        let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: .zero)
        let resolver = makeResolver(scripted: [proxy.host])
        let keyring = Keyring(sources: [(label: "imagePullSecret ns/regcred", config: DockerConfig(entries: [.init(server: proxy.host, username: "bot", password: "pw")]))])
        let host = proxy.host
        let lookups = 8
        async let resolved: [String] = withThrowingTaskGroup(of: String.self) { group in
            for tag in 0..<lookups {
                group.addTask { try await resolver.resolve(try ImageReference.parse("\(host)/app:v\(tag)"), keyring: keyring, deadline: soon()).digest }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // While only the probe has reached the registry, the seven waiting lookups have connected.
        var connectedDuringProbe = 0
        let until = ContinuousClock.now + .milliseconds(1400)
        while ContinuousClock.now < until, registry.requests.count <= 1 {
            connectedDuringProbe = max(connectedDuringProbe, registry.requests.count <= 1 ? proxy.connections : 0)
            if connectedDuringProbe >= lookups { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let digests = try await resolved
        #expect(digests == Array(repeating: digest, count: lookups))
        #expect(connectedDuringProbe == lookups, "connections open before the challenge was known: \(connectedDuringProbe) of \(lookups)")
        #expect(proxy.connections == lookups, "each waiting lookup used the connection it opened ahead: \(proxy.connections)")
        #expect(registry.requests.filter { $0.authorization == nil }.count == 1, "one anonymous probe")
        await resolver.shutdown()
        await proxy.stop()
        await registry.stop()
    }
}

private final class HeadCounter: Sendable {
    private let count = Mutex(0)
    /// How many came before this one.
    func next() -> Int {
        count.withLock { value in
            defer { value += 1 }
            return value
        }
    }
}
