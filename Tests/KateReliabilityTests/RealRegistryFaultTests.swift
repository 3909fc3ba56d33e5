import Foundation
import KateAdmission
import KateRegistry
import RegistryTestSupport
import Testing

extension Reliability {
    /// The same faults against the real `docker-registry` (distribution 2.8): slowed by a proxy on
    /// every round trip, and stopped outright mid-service.
    @Suite("Real docker-registry slow or stopped", .timeLimit(.minutes(1)))
    struct RealRegistryFaultTests {
        @Test("behind a proxy adding 1.5 s per round trip, a 1 s admission budget fails open on time")
        func slowRealRegistry() async throws {
            let registry = try await TestRegistry.start(.plainHTTP)
            let digest = try await registry.push(repository: "shop/web", tag: "2.4.1")
            let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: .milliseconds(1500))
            let rig = AdmissionRig(plainHTTP: [proxy.host, registry.host])

            let slow = try await rig.pin(Reviews.podCreate(registry: proxy.host), budget: .seconds(1))
            #expect(slow.report.outcome == .failedOpen)
            #expect(slow.report.response.patch.isEmpty)

            // Straight to the registry, the same tag pins to what was pushed.
            let direct = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(5))
            #expect(direct.patchedImages.contains { $0.hasSuffix("shop/web:2.4.1@" + digest) }, "\(direct.patchedImages) \(direct.report.failures)")
            await rig.shutdown()
            await proxy.stop()
            await registry.stop()
        }

        @Test("the registry process stops: connection refused fails open at once, with the last digest pinned if known")
        func registryStopped() async throws {
            let registry = try await TestRegistry.start(.plainHTTP)
            _ = try await registry.push(repository: "shop/web", tag: "2.4.1")
            _ = try await registry.push(repository: "acme/shop-migrate", tag: "v42")
            _ = try await registry.push(repository: "fluent/fluent-bit", tag: "3.1")
            let rig = AdmissionRig(plainHTTP: [registry.host], cacheTTL: .zero)
            let review = try Reviews.podCreate(registry: registry.host)
            let before = try await rig.pin(review, budget: .seconds(5))
            #expect(before.report.outcome == .pinned, "\(before.report.failures)")

            await registry.stop()
            let after = try await rig.pin(review, budget: .seconds(3))
            #expect(after.elapsed < .seconds(1), "connection refused should not take \(after.elapsed)")
            #expect(after.report.outcome == .pinned, "stale-if-error should pin the last known digests: \(after.report.failures)")
            #expect(after.patchedImages == before.patchedImages)
            #expect(after.warnings.count == Reviews.unpinnedImages, "one stale warning per image: \(after.warnings)")

            // A tag never resolved before has nothing to fall back on: allowed unpinned.
            let rig2 = AdmissionRig(plainHTTP: [registry.host])
            let fresh = try await rig2.pin(review, budget: .seconds(3))
            #expect(fresh.report.outcome == .failedOpen)
            await rig2.shutdown()
            await rig.shutdown()
        }
    }
}
