import Foundation
import KateNet
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Testing

/// Plain-HTTP registries the way container runtimes treat them: loopback hosts get HTTPS first,
/// then HTTP; every other host only when configured.
@Suite("Plain-HTTP registries")
struct PlainHTTPTests {
    @Test("which hosts may fall back to plain HTTP", arguments: [
        ("localhost:5001", true), ("localhost", true), ("127.0.0.1:5000", true), ("127.1.2.3", true), ("[::1]:5000", true),
        ("::1", true), ("LOCALHOST:5001", true),
        ("registry.example.com:5000", false), ("127.0.0.1.nip.io:5000", false), ("localhost.example.com", false),
        ("10.0.0.1:5000", false), ("128.0.0.1", false), ("127.0.0.256", false), ("[::2]:5000", false), ("docker.io", false),
    ])
    func loopbackPolicy(_ host: String, _ allowed: Bool) {
        #expect(PlainHTTPPolicy.mayFallBack(host: host, insecureRegistries: []) == allowed)
    }

    @Test("--insecure-registry HOST allows every port, HOST:PORT only that port")
    func insecureRegistries() {
        #expect(PlainHTTPPolicy.mayFallBack(host: "registry.corp:5000", insecureRegistries: ["registry.corp:5000"]))
        #expect(!PlainHTTPPolicy.mayFallBack(host: "registry.corp:5001", insecureRegistries: ["registry.corp:5000"]))
        #expect(PlainHTTPPolicy.mayFallBack(host: "registry.corp:5001", insecureRegistries: ["registry.corp"]))
        #expect(!PlainHTTPPolicy.mayFallBack(host: "other.corp", insecureRegistries: ["registry.corp"]))
    }

    @Test("the real docker-registry on 127.0.0.1 over plain HTTP resolves with no configuration; HTTPS is tried once")
    func realRegistryWithoutConfiguration() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let first = try await registry.push(repository: "kind/app", tag: "v1")
            let second = try await registry.push(repository: "kind/app", tag: "v2")
            let metrics = TestMetrics()
            // No registry settings at all: what a user gets for kind's localhost registry.
            let resolver = makeResolver(metrics: metrics)
            let resolved = try await resolver.resolve(ImageReference.parse("\(registry.host)/kind/app:v1"), deadline: soon())
            #expect(resolved.digest == first)
            #expect(try await resolver.resolve(ImageReference.parse("\(registry.host)/kind/app:v2"), deadline: soon()).digest == second)
            let failedHTTPS = metrics.counterTotal(
                label: "kate_registry_requests_total", dimensions: [("registry", registry.host), ("method", "HEAD"), ("code", "error")])
            #expect(failedHTTPS == 1, "one TLS attempt; after it the host is asked over http:// directly")
            let heads = try await registry.manifestRequests(repository: "kind/app").filter { $0.method == "HEAD" }
            #expect(heads.map(\.description) == ["HEAD /v2/kind/app/manifests/v1 200", "HEAD /v2/kind/app/manifests/v2 200"])
            #expect(resolver.circuitState(host: registry.host) == .closed, "the TLS mismatch is not an outage")
            await resolver.shutdown()
        }
    }

    @Test("a non-loopback name that speaks plain HTTP is not downgraded; the error names plainHTTP and --insecure-registry, not a CA file")
    func noFallbackForOtherHosts() async throws {
        // The real registry over plain HTTP answers a ClientHello with "400 Bad Request", as Go
        // servers do; the CONNECT proxy makes it reachable under a name that is not loopback.
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let proxy = try ConnectProxy.start(upstreamPort: registry.port)
            let before = try await registry.receivedRequests().count
            let resolver = makeResolver {
                $0.proxy = ProxyConfiguration(httpsProxy: proxy.url)
                $0.maxRetries = 0
            }
            await #expect {
                try await resolver.resolve(ImageReference.parse("registry.example.test:5000/app:v1"), deadline: soon())
            } throws: { error in
                guard let error = error as? RegistryError else { return false }
                let text = error.description
                return error.kind == .tls && text.contains("speaks plain HTTP") && text.contains("\"plainHTTP\": true for registry.example.test:5000")
                    && text.contains("--insecure-registry registry.example.test:5000") && !text.contains("caFile")
            }
            #expect(proxy.connectTargets == ["registry.example.test:5000"], "one https attempt, no plain-http retry")
            #expect(try await registry.receivedRequests().count == before, "no request reached the registry in clear text")
            await resolver.shutdown()
            await proxy.stop()
        }
    }

    @Test("registry requests carry User-Agent kate/<version>")
    func userAgent() async throws {
        try await ScriptedHTTPServer.withRunning({ _, _, _ in .init(status: 404) }) { server in
            let resolver = makeResolver(scripted: [server.host])
            _ = try? await resolver.resolve(ImageReference.parse("\(server.host)/app:v1"), deadline: soon())
            #expect(!server.requests.isEmpty)
            #expect(server.requests.allSatisfy { $0.userAgent == "kate/\(KateVersion.current)" })
            #expect(KateVersion.userAgent == "kate/\(KateVersion.current)")
        }
    }
}
