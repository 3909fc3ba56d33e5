import Foundation
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Testing

@Suite("Resolver against a real docker-registry (plain HTTP)")
struct PlainRegistryTests {
    @Test("a schema2 image resolves to its manifest digest with one HEAD")
    func schema2() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let pushed = try await registry.push(repository: "team/app", tag: "v1")
            let resolver = makeResolver(for: registry)
            let resolved = try await resolver.resolve(ImageReference.parse("\(registry.host)/team/app:v1"), deadline: soon())
            #expect(resolved.digest == pushed)
            #expect(resolved.mediaType == ManifestMediaType.dockerManifest)
            #expect(resolved.source == .registry)
            let requests = try await registry.manifestRequests(repository: "team/app").filter { $0.method != "PUT" }
            #expect(requests.map(\.description) == ["HEAD /v2/team/app/manifests/v1 200"])
        }
    }

    @Test("an OCI index resolves to the index digest; platformDigests lists its children", arguments: [true, false])
    func multiArch(oci: Bool) async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let pushed =
                oci
                ? try await registry.pushIndex(repository: "multi", tag: "1.0", platforms: ["linux/amd64", "linux/arm64"])
                : try await registry.pushManifestList(repository: "multi", tag: "1.0", platforms: ["linux/amd64", "linux/arm64"])
            let resolver = makeResolver(for: registry)
            let ref = try ImageReference.parse("\(registry.host)/multi:1.0")
            let resolved = try await resolver.resolve(ref, deadline: soon())
            #expect(resolved.digest == pushed.index)
            #expect(resolved.mediaType == (oci ? ManifestMediaType.ociIndex : ManifestMediaType.dockerManifestList))
            let children = try await resolver.platformDigests(ref, indexDigest: resolved.digest, keyring: .empty, deadline: soon())
            #expect(children == Set(pushed.children))
            #expect(children.count == 2)
            let plain = try await registry.push(repository: "multi", tag: "single")
            #expect(try await resolver.platformDigests(ref, indexDigest: plain, keyring: .empty, deadline: soon()).isEmpty)
        }
    }

    @Test("a moved tag is seen after the cache TTL, not before")
    func movedTag() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let first = try await registry.push(repository: "app", tag: "latest")
            let cached = makeResolver(for: registry) { $0.cacheTTL = .seconds(300) }
            let uncached = makeResolver(for: registry) { $0.cacheTTL = .zero }
            let ref = try ImageReference.parse("\(registry.host)/app")
            #expect(cached.cached(ref) == nil, "nothing is cached before the first lookup")
            #expect(try await cached.resolve(ref, deadline: soon()).digest == first)
            #expect(cached.cached(ref)?.digest == first, "the non-suspending cache read sees the lookup")
            #expect(try await uncached.resolve(ref, deadline: soon()).digest == first)
            #expect(uncached.cached(ref) == nil, "a zero TTL caches nothing")
            let second = try await registry.push(repository: "app", tag: "latest")
            #expect(second != first)
            let fromCache = try await cached.resolve(ref, deadline: soon())
            #expect(fromCache.digest == first && fromCache.source == .cache)
            #expect(try await uncached.resolve(ref, deadline: soon()).digest == second)
        }
    }

    @Test("a deleted tag is reported as an unknown tag and the miss is negatively cached")
    func deletedTag() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            try await registry.push(repository: "gone", tag: "v1")
            try await registry.deleteTag(repository: "gone", tag: "v1")
            let metrics = TestMetrics()
            let resolver = makeResolver(for: registry, metrics: metrics)
            let ref = try ImageReference.parse("\(registry.host)/gone:v1")
            for _ in 0..<3 {
                await #expect { try await resolver.resolve(ref, deadline: soon()) } throws: { error in
                    guard let error = error as? RegistryError else { return false }
                    return error.kind == .tagNotFound && error.description.contains("tag not found") && error.description.contains("MANIFEST_UNKNOWN")
                }
            }
            let all = try await registry.manifestRequests(repository: "gone")
            let afterDelete = all.suffix(from: (all.firstIndex { $0.method == "DELETE" } ?? -1) + 1)
            let requests = afterDelete.filter { $0.method == "HEAD" || $0.method == "GET" }
            // HEAD (404 has no body) + GET to read the error code, once; the next two came from the negative cache.
            #expect(requests.map(\.description) == ["HEAD /v2/gone/manifests/v1 404", "GET /v2/gone/manifests/v1 404"])
            #expect(metrics.counterTotal(label: "kate_registry_cache_total", dimensions: [("result", "hit")]) == 2)
        }
    }

    @Test("50 concurrent lookups of one tag make exactly one registry request; later ones hit the cache")
    func singleflight() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let pushed = try await registry.push(repository: "hot", tag: "v1")
            let metrics = TestMetrics()
            let resolver = makeResolver(for: registry, metrics: metrics)
            let ref = try ImageReference.parse("\(registry.host)/hot:v1")
            let digests = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<50 { group.addTask { try await resolver.resolve(ref, deadline: soon()).digest } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(digests == Array(repeating: pushed, count: 50))
            let again = try await resolver.resolve(ref, deadline: soon())
            #expect(again.source == .cache)
            let heads = try await registry.manifestRequests(repository: "hot").filter { $0.method == "HEAD" }
            #expect(heads.count == 1)
            #expect(
                metrics.counterTotal(label: "kate_registry_requests_total", dimensions: [("registry", registry.host), ("method", "HEAD"), ("code", "200")]) == 1
            )
            #expect(metrics.counterTotal(label: "kate_registry_cache_total", dimensions: [("result", "hit")]) >= 1)
            #expect(try metrics.expectTimer("kate_registry_resolve_duration_seconds").values.count == 51)
        }
    }

    @Test("stale-if-error serves the last known digest when the registry is down, within maxAge only")
    func staleIfError() async throws {
        try await TestRegistry.withRunning(.plainHTTP) { registry in
            let pushed = try await registry.push(repository: "app", tag: "v1")
            let metrics = TestMetrics()
            let resolver = makeResolver(for: registry, metrics: metrics) {
                $0.cacheTTL = .zero
                $0.maxRetries = 0
            }
            let ref = try ImageReference.parse("\(registry.host)/app:v1")
            _ = try await resolver.resolve(ref, deadline: soon())
            await registry.stop()
            let stale = try await resolver.resolve(ref, keyring: .empty, deadline: soon(), staleIfErrorWithin: .seconds(3600))
            #expect(stale.digest == pushed && stale.source == .stale)
            #expect(metrics.counterTotal(label: "kate_registry_cache_total", dimensions: [("result", "stale")]) == 1)
            await #expect { try await resolver.resolve(ref, keyring: .empty, deadline: soon(), staleIfErrorWithin: .zero) } throws: { error in
                (error as? RegistryError)?.kind == .network
            }
            await #expect { try await resolver.resolve(ref, deadline: soon()) } throws: { error in
                guard let error = error as? RegistryError else { return false }
                return error.kind == .network && error.description.contains(registry.host)
            }
        }
    }
}
