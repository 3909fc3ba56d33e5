import CoreMetrics
import KateNet
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Synchronization
import Testing

/// Forwards to TestMetrics and counts how many handles were asked for.
private final class CountingFactory: MetricsFactory {
    let inner = TestMetrics()
    let made = Mutex(0)

    private func count() { made.withLock { $0 += 1 } }
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        count()
        return inner.makeCounter(label: label, dimensions: dimensions)
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        count()
        return inner.makeFloatingPointCounter(label: label, dimensions: dimensions)
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        count()
        return inner.makeMeter(label: label, dimensions: dimensions)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        count()
        return inner.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        count()
        return inner.makeTimer(label: label, dimensions: dimensions)
    }
    func destroyCounter(_ handler: any CounterHandler) { inner.destroyCounter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { inner.destroyFloatingPointCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { inner.destroyMeter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { inner.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { inner.destroyTimer(handler) }
}

@Suite("Registry metrics handles")
struct MetricsHandleTests {
    @Test("a cached resolve creates no metrics handle, and its hits are still counted")
    func cachedResolveCreatesNoHandles() async throws {
        let body = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}"#.utf8)
        let digest = "sha256:" + SHA256.hex(body)
        try await ScriptedHTTPServer.withRunning({ _, _, _ in
            .init(status: 200, headers: [("Content-Type", ManifestMediaType.ociManifest), ("Docker-Content-Digest", digest)])
        }) { server in
            let factory = CountingFactory()
            let resolver = makeResolver(scripted: [server.host]) { $0.metricsFactory = factory }
            let reference = try ImageReference.parse("\(server.host)/app:v1")
            #expect(try await resolver.resolve(reference, deadline: soon()).digest == digest)
            let before = factory.made.withLock { $0 }
            for _ in 0..<100 { _ = try await resolver.resolve(reference, deadline: soon()) }
            #expect(factory.made.withLock { $0 } == before, "handles created on the cached path")
            #expect(factory.inner.counterTotal(label: "kate_registry_cache_total", dimensions: [("result", "hit")]) == 100)
            #expect(server.requests.count == 1)
            await resolver.shutdown()
        }
    }
}
