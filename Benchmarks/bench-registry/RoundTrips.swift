import Foundation
import KateRegistry
import Logging
import RegistryTestSupport

/// A sweep's registry work for 20 stale tags behind 50 ms RTT: a token-auth TLS registry, two
/// namespaces' pull secrets (same account, different identities), every tag resolved and its
/// platform digests listed, all at once, cold. Prints what went over the wire.
func roundTrips(delay: Duration) async throws {
    let registry = try await TestRegistry.start(.tokenAuthTLS(user: "bot", password: "s3cret"))
    let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: delay)
    var pushed: [String: String] = [:]
    for i in 0..<2 { pushed["v\(i)"] = try await registry.pushIndex(repository: "fleet/app", tag: "v\(i)").index }
    pushed.merge(try await registry.pushMany(repository: "fleet/app", tags: (2..<20).map { "v\($0)" })) { a, _ in a }
    let tokensBefore = registry.tokenServer?.requestCount ?? 0
    let connectionsBefore = proxy.connections
    let before = try await registry.receivedRequests().count
    var logger = Logger(label: "bench.resolver")
    logger.logLevel = .error
    var configuration = ResolverConfiguration(requestTimeout: .seconds(30))
    configuration.registries[proxy.host] = RegistrySettings(caFile: registry.caFile)
    let resolver = Resolver(configuration: configuration, logger: logger)
    let scopes = [proxy.host, "https://\(proxy.host)"].enumerated().map { index, server in
        Keyring(sources: [(label: "imagePullSecret ns\(index)/regcred", config: DockerConfig(entries: [.init(server: server, username: "bot", password: "s3cret")]))])
    }
    let host = proxy.host
    let started = ContinuousClock.now
    let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
        for keyring in scopes {
            for (tag, digest) in pushed {
                group.addTask {
                    let reference = try ImageReference.parse("\(host)/fleet/app:\(tag)")
                    let resolved = try await resolver.resolve(reference, keyring: keyring, deadline: .now + .seconds(30))
                    _ = try await resolver.platformDigests(reference, indexDigest: resolved.digest, keyring: keyring, deadline: .now + .seconds(30))
                    return resolved.digest == digest ? 0 : 1
                }
            }
        }
        return try await group.reduce(0, +)
    }
    let wall = ContinuousClock.now - started
    let requests = try await registry.receivedRequests().dropFirst(before)
    let manifests = requests.filter { $0.target.hasPrefix("/v2/fleet/app/manifests/") }
    await resolver.shutdown()
    await proxy.stop()
    print("== round trips: sweep of 20 stale tags (2 indexes) under 2 credential scopes, token auth over TLS, +\(milliseconds(delay)) ms per round trip, cold")
    print(String(format: "wall time:            %.3f s = %.1f round trips", seconds(wall), seconds(wall) / seconds(delay)))
    print("401 answers:          \(requests.filter { $0.status == 401 }.count)")
    print("manifest HEADs:       \(manifests.filter { $0.method == "HEAD" && $0.status == 200 }.count)")
    print("manifest GETs:        \(manifests.filter { $0.method == "GET" }.count)")
    print("token requests:       \((registry.tokenServer?.requestCount ?? 0) - tokensBefore)")
    print("TCP/TLS connections:  \(proxy.connections - connectionsBefore)")
    print("wrong digests:        \(wrong)")
    await registry.stop()
}

func milliseconds(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
