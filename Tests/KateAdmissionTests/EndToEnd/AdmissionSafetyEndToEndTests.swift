import Foundation
import KateAdmission
import KateKube
import KateNet
import KateRegistry
import KubeTestServer
import RegistryTestSupport
import Testing

/// The webhook's dangling-pin check (revision memory) and platform-coverage gate with real parts:
/// the real `Resolver` against `docker-registry` (deletes enabled), nodes listed from the test API
/// server through `KubeClient`.
@Suite("Admission safety: dangling remembered digests, platform gaps", .serialized)
struct AdmissionSafetyEndToEndTests {
    struct Rig {
        let registry: TestRegistry
        let kube: KubeTestServer
        let client: KubeClient
        let resolver: Resolver
        let pinner: PodPinner

        static func start(danglingCheck: Bool = true, platformGate: Bool = true) async throws -> Rig {
            let registry = try await TestRegistry.start()
            let kube = try await KubeTestServer.start()
            let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate-webhook", logger: TestLogging.quiet)
            // No tag cache: the tests move tags between reviews.
            let resolver = try RegistryEndToEndTests.resolver(for: registry, cacheTTL: .zero)
            let gate = platformGate ? PlatformGate(lister: resolver, nodes: NodePlatforms(client: client)) : nil
            let pinner = PodPinner(
                configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty),
                memory: RevisionMemory(presence: danglingCheck ? resolver : nil), platformGate: gate)
            return Rig(registry: registry, kube: kube, client: client, resolver: resolver, pinner: pinner)
        }

        func stop() async {
            await client.shutdown()
            await resolver.shutdown()
            await registry.stop()
            await kube.stop()
        }

        /// The example ReplicaSet pod (revision `hash`), images on the loopback registry.
        func review(hash: String = "7c5d8f9b6d", uid: String = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a") throws -> [UInt8] {
            try Fixtures.review(Fixtures.podCreate, edits: """
                [{"op":"replace","path":"/request/uid","value":"\(uid)"},
                 {"op":"replace","path":"/request/object/metadata/labels/pod-template-hash","value":"\(hash)"}]
                """, images: RegistryEndToEndTests.localImages(registry.host))
        }

        func pushOthers() async throws {
            _ = try await registry.push(repository: "acme/shop-migrate", tag: "v42")
            _ = try await registry.push(repository: "fluent/fluent-bit", tag: "3.1")
        }

        /// Nodes on amd64 and arm64; the other images pushed; web's tag on an amd64+arm64 index.
        static func mixedCluster() async throws -> (Rig, (index: String, children: [String])) {
            let rig = try await Rig.start()
            try rig.kube.addNode("node-amd", architecture: "amd64")
            try rig.kube.addNode("node-arm", architecture: "arm64")
            try await rig.pushOthers()
            let good = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
            return (rig, good)
        }

        func web(_ digest: String) -> String { "\(registry.host)/shop/web:2.4.1@\(digest)" }
    }

    @Test("a remembered digest the registry deleted is not reused: the next pod of the revision gets the fresh one")
    func danglingRememberedDigestIsReResolved() async throws {
        let rig = try await Rig.start()
        try await rig.pushOthers()
        let old = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let harness = PinHarness()
        let first = try await harness.run(try rig.review(uid: "11111111-1111-4111-8111-111111111111"), pinner: rig.pinner)
        #expect(first.image("/spec/containers/0/image") == rig.web(old.index))

        // Retention deletes the pinned digest; the tag is rebuilt.
        try await rig.registry.deleteTag(repository: "shop/web", tag: "2.4.1")
        let fresh = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
        let second = try await harness.run(try rig.review(), pinner: rig.pinner)
        #expect(second.image("/spec/containers/0/image") == rig.web(fresh.index))
        #expect(rig.pinner.memory.isKnownDangling(try ImageReference.parse(rig.web(old.index)), digest: old.index))

        // The fresh digest, now remembered and present, is reused with one HEAD, then from the presence cache.
        let before = try await rig.registry.manifestRequests(repository: "shop/web").count
        for uid in ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"] {
            let next = try await harness.run(try rig.review(uid: uid), pinner: rig.pinner)
            #expect(next.image("/spec/containers/0/image") == rig.web(fresh.index))
        }
        let requests = try await rig.registry.manifestRequests(repository: "shop/web").dropFirst(before)
        #expect(requests.map { "\($0.method) \($0.status)" } == ["HEAD 200"])
        await rig.stop()
    }

    @Test("with the check off, the deleted digest keeps being handed out")
    func danglingCheckOff() async throws {
        let rig = try await Rig.start(danglingCheck: false)
        try await rig.pushOthers()
        let old = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let harness = PinHarness()
        _ = try await harness.run(try rig.review(uid: "11111111-1111-4111-8111-111111111111"), pinner: rig.pinner)
        try await rig.registry.deleteTag(repository: "shop/web", tag: "2.4.1")
        _ = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
        let second = try await harness.run(try rig.review(), pinner: rig.pinner)
        #expect(second.image("/spec/containers/0/image") == rig.web(old.index))
        await rig.stop()
    }

    @Test("a tag moved to an index without arm64 while a node is arm64: the previous digest is kept, the warning names linux/arm64")
    func platformGapKeepsThePreviousDigest() async throws {
        let (rig, good) = try await Rig.mixedCluster()
        let harness = PinHarness()
        let first = try await harness.run(try rig.review(hash: "1111111111"), pinner: rig.pinner)
        #expect(first.image("/spec/containers/0/image") == rig.web(good.index))
        #expect(first.response.warnings.isEmpty)

        let gap = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let second = try await harness.run(try rig.review(hash: "2222222222"), pinner: rig.pinner)
        #expect(second.image("/spec/containers/0/image") == rig.web(good.index))
        let warning = try #require(second.response.warnings.first { $0.contains("platform gate") })
        #expect(warning.contains("linux/arm64") && warning.contains(String(good.index.dropFirst(7).prefix(12))))

        // Retried on the next resolve: once the index covers arm64 again, pods get it.
        let fixed = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64", "linux/s390x"])
        let third = try await harness.run(try rig.review(hash: "3333333333"), pinner: rig.pinner)
        #expect(third.image("/spec/containers/0/image") == rig.web(fixed.index))
        #expect(!third.response.warnings.contains { $0.contains("platform gate") })
        #expect(gap.index != fixed.index)
        await rig.stop()
    }

    @Test("a pod whose nodeSelector picks amd64 is pinned to an amd64-only index although an arm64 node exists")
    func nodeSelectorNarrowsTheGate() async throws {
        let (rig, good) = try await Rig.mixedCluster()
        let harness = PinHarness()
        _ = try await harness.run(try rig.review(hash: "1111111111"), pinner: rig.pinner)
        let amdOnly = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let selecting = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"replace","path":"/request/object/metadata/labels/pod-template-hash","value":"4444444444"},
             {"op":"add","path":"/request/object/spec/nodeSelector","value":{"kubernetes.io/arch":"amd64"}}]
            """, images: RegistryEndToEndTests.localImages(rig.registry.host))
        let pinned = try await harness.run(selecting, pinner: rig.pinner)
        #expect(pinned.image("/spec/containers/0/image") == rig.web(amdOnly.index))
        #expect(pinned.response.warnings.isEmpty)
        // Required node affinity on arm64 sees the gap.
        let affinity = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"replace","path":"/request/object/metadata/labels/pod-template-hash","value":"5555555555"},
             {"op":"add","path":"/request/object/spec/affinity","value":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":
               {"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/arch","operator":"In","values":["arm64"]}]}]}}}}]
            """, images: RegistryEndToEndTests.localImages(rig.registry.host))
        let kept = try await harness.run(affinity, pinner: rig.pinner)
        #expect(kept.image("/spec/containers/0/image") == rig.web(good.index))
        #expect(kept.response.warnings.contains { $0.contains("linux/arm64") })
        await rig.stop()
    }

    @Test("with the gate off, the gap digest is pinned")
    func platformGateOff() async throws {
        let rig = try await Rig.start(platformGate: false)
        try rig.kube.addNode("node-arm", architecture: "arm64")
        try await rig.pushOthers()
        _ = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
        let harness = PinHarness()
        _ = try await harness.run(try rig.review(hash: "1111111111"), pinner: rig.pinner)
        let gap = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let second = try await harness.run(try rig.review(hash: "2222222222"), pinner: rig.pinner)
        #expect(second.image("/spec/containers/0/image") == rig.web(gap.index))
        await rig.stop()
    }
}
