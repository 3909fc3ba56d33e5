import Foundation
import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import KubeTestServer
import RegistryTestSupport
import Testing

/// The webhook's cooldown with real parts: the real `Resolver` against `docker-registry` (the tag
/// really moves), the ledger as ImageTagHistory objects in the test API server, read through the
/// watch-backed `DigestLedgerReader` and written by the `LedgerRecorder`, as `kate webhook --ledger
/// --cooldown` wires them.
@Suite("Admission cooldown", .serialized)
struct AdmissionCooldownEndToEndTests {
    static let hour: TimeInterval = 3600

    struct Rig {
        let registry: TestRegistry
        let kube: KubeTestServer
        let client: KubeClient
        let resolver: Resolver
        let ledger: DigestLedger
        let reader: DigestLedgerReader
        let recorder: LedgerRecorder
        let background: Task<Void, Never>

        static func start(namespaceLabels: [String: String]? = nil) async throws -> Rig {
            let registry = try await TestRegistry.start()
            let kube = try await KubeTestServer.start()
            if let namespaceLabels { _ = try kube.addNamespace("shop", labels: namespaceLabels) }
            let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate-webhook", logger: TestLogging.quiet)
            let resolver = try RegistryEndToEndTests.resolver(for: registry, cacheTTL: .zero)
            let ledger = DigestLedger(client: client, namespace: "kate-system")
            let reader = DigestLedgerReader(client: client, namespace: "kate-system")
            let recorder = LedgerRecorder(ledger: ledger, logger: TestLogging.quiet)
            let background = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask { try? await reader.run() }
                    group.addTask { await recorder.run() }
                }
            }
            return Rig(registry: registry, kube: kube, client: client, resolver: resolver, ledger: ledger, reader: reader, recorder: recorder, background: background)
        }

        func pinner(cooldown: Duration, namespaces: Bool = false) -> PodPinner {
            let gate = CooldownGate(cooldown: cooldown, copy: reader, recorder: recorder, namespaces: namespaces ? NamespaceLabelOptOut(client: client) : nil)
            return PodPinner(
                configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty), cooldownGate: gate)
        }

        func stop() async {
            background.cancel()
            await background.value
            await client.shutdown()
            await resolver.shutdown()
            await registry.stop()
            await kube.stop()
        }

        func review(hash: String) throws -> [UInt8] {
            try Fixtures.review(Fixtures.podCreate, edits: """
                [{"op":"replace","path":"/request/object/metadata/labels/pod-template-hash","value":"\(hash)"}]
                """, images: RegistryEndToEndTests.localImages(registry.host))
        }

        func key(_ repository: String, _ tag: String) throws -> String {
            LedgerKey.reference(try ImageReference.parse("\(registry.host)/\(repository):\(tag)"))
        }

        func web(_ digest: String) -> String { "\(registry.host)/shop/web:2.4.1@\(digest)" }

        /// The example's other images pushed and known to the ledger for long (only web's tag is under test).
        func matureOthers(now: Date) async throws {
            for (repository, tag) in [("acme/shop-migrate", "v42"), ("fluent/fluent-bit", "3.1")] {
                let digest = try await registry.push(repository: repository, tag: tag)
                try await ledger.record(reference: try key(repository, tag), digest: digest, at: now.addingTimeInterval(-1000 * hour))
            }
        }

        /// Waits (≤ 5 s) until this replica's copy satisfies `condition`.
        func waitForCopy(_ condition: (DigestLedgerReader) -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(5)
            while !condition(reader) {
                guard ContinuousClock.now < deadline else { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    func pin(_ pinner: PodPinner, _ review: [UInt8], now: Date) async throws -> PinHarness.Outcome {
        try await PinHarness().run(review, pinner: pinner, now: now)
    }

    @Test("a tag pushed minutes ago is pinned to its newest mature digest with a warning; the new digest's clock starts in the ledger; once mature it is pinned")
    func youngDigestKeepsTheMatureOne() async throws {
        let rig = try await Rig.start()
        let now = Date()
        try await rig.matureOthers(now: now)
        let old = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        let web = try rig.key("shop/web", "2.4.1")
        try await rig.ledger.record(reference: web, digest: old.index, at: now.addingTimeInterval(-200 * Self.hour))
        try await rig.waitForCopy { $0.history(of: web) != nil && $0.count == 3 }
        let pinner = rig.pinner(cooldown: .seconds(72 * 3600))

        // The tag moves.
        let fresh = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
        let held = try await pin(pinner, try rig.review(hash: "1111111111"), now: now)
        #expect(held.image("/spec/containers/0/image") == rig.web(old.index))
        let warning = try #require(held.response.warnings.first { $0.contains("cooldown") }, "\(held.response.warnings)")
        #expect(warning.contains(Digest.short(old.index)) && warning.contains(Digest.short(fresh.index)) && warning.contains("adopted in 72h"))
        #expect(held.response.warnings.count == 1, "only web's tag is young: \(held.response.warnings)")

        // The review noted the new digest; the recorder wrote it; every replica's copy sees it.
        try await rig.waitForCopy { $0.history(of: web)?.record(of: fresh.index) != nil }
        let stored = try #require(try await rig.ledger.history(of: web))
        #expect(stored.spec.digests.map(\.digest) == [fresh.index, old.index])

        // Two hours later the clock has not restarted; 73 hours after the push kate adopts it.
        let later = try await pin(pinner, try rig.review(hash: "2222222222"), now: Date().addingTimeInterval(2 * Self.hour))
        #expect(later.image("/spec/containers/0/image") == rig.web(old.index))
        #expect(later.response.warnings.contains { $0.contains("first seen 2h ago") }, "\(later.response.warnings)")
        let adopted = try await pin(pinner, try rig.review(hash: "3333333333"), now: Date().addingTimeInterval(73 * Self.hour))
        #expect(adopted.image("/spec/containers/0/image") == rig.web(fresh.index))
        #expect(adopted.response.warnings.isEmpty)
        await rig.stop()
    }

    @Test("a tag kate has never seen is pinned as resolved, with a warning that no older digest is known")
    func noMatureDigestPinsTheNewOneWithAWarning() async throws {
        let rig = try await Rig.start()
        try await rig.matureOthers(now: Date())
        let only = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        try await rig.waitForCopy { $0.count == 2 }
        let result = try await pin(rig.pinner(cooldown: .seconds(3600)), try rig.review(hash: "1111111111"), now: Date())
        #expect(result.image("/spec/containers/0/image") == rig.web(only.index))
        #expect(result.response.warnings.contains { $0.contains("no older digest known, pinned it") }, "\(result.response.warnings)")
        await rig.stop()
    }

    @Test("a dry run is gated like a real review but records nothing in the ledger")
    func dryRunRecordsNothing() async throws {
        let rig = try await Rig.start()
        _ = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
        try await rig.waitForCopy { $0.isSynced }
        let dryRun = try Fixtures.review(Fixtures.podCreate, edits: """
            [{"op":"add","path":"/request/dryRun","value":true}]
            """, images: RegistryEndToEndTests.localImages(rig.registry.host))
        let result = try await pin(rig.pinner(cooldown: .seconds(3600)), dryRun, now: Date())
        #expect(result.response.warnings.contains { $0.contains("younger than the cooldown") })
        try await Task.sleep(for: .milliseconds(300))
        #expect(rig.recorder.backlog == 0)
        #expect(try await rig.ledger.histories().isEmpty)
        await rig.stop()
    }

    @Test("the namespace label kate.dev/cooldown=0 turns the gate off there; a label that is not a duration keeps --cooldown and warns")
    func namespaceLabel() async throws {
        for (labels, expectHeld) in [([KateAnnotations.cooldown: "0"], false), ([KateAnnotations.cooldown: "soon"], true)] {
            let rig = try await Rig.start(namespaceLabels: labels)
            let now = Date()
            try await rig.matureOthers(now: now)
            let old = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64"])
            let web = try rig.key("shop/web", "2.4.1")
            try await rig.ledger.record(reference: web, digest: old.index, at: now.addingTimeInterval(-200 * Self.hour))
            try await rig.waitForCopy { $0.count == 3 }
            let fresh = try await rig.registry.pushIndex(repository: "shop/web", tag: "2.4.1", platforms: ["linux/amd64", "linux/arm64"])
            let result = try await pin(rig.pinner(cooldown: .seconds(72 * 3600), namespaces: true), try rig.review(hash: "1111111111"), now: now)
            #expect(result.image("/spec/containers/0/image") == rig.web(expectHeld ? old.index : fresh.index), "labels \(labels)")
            if expectHeld {
                #expect(result.response.warnings.contains { $0.contains("kate.dev/cooldown=soon is not a duration") }, "\(result.response.warnings)")
            } else {
                #expect(result.response.warnings.isEmpty)
            }
            await rig.stop()
        }
    }
}
