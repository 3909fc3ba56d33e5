import Foundation
import KateContract
import KateKube
import KateRegistry
import KateSweeper
import KubeTestServer
import Logging
import RegistryTestSupport
import Testing

/// `kate sweep --ledger --cooldown`: against the test API server (ImageTagHistory objects with its
/// CRD semantics) and a real `docker-registry` whose tag really moves.
@Suite("kate sweep cooldown and ledger", .serialized)
struct CooldownEndToEndTests {
    static let hour: TimeInterval = 3600

    func sweep(_ h: SweepHarness, ledger: SweepLedgerOptions, now: Date, policy: ActionPolicy = SweepHarness.policy(), namespace: String? = nil) async throws -> SweepReport {
        var configuration = SweeperConfiguration(scope: CollectionScope(namespace: namespace), policy: policy, resolveTimeout: .seconds(10))
        configuration.ledger = ledger
        return try await Sweeper(cluster: h.client, resolver: h.resolver, configuration: configuration, logger: h.logger).run(now: now)
    }

    func ledger(_ h: SweepHarness) -> DigestLedger { DigestLedger(client: h.client, namespace: "kate-system") }

    func key(_ h: SweepHarness, _ repository: String, _ tag: String) throws -> String {
        LedgerKey.reference(try ImageReference.parse(h.image(repository, tag)))
    }

    /// What the sweep changed besides the ledger and Events.
    func workloadWrites(_ h: SweepHarness) -> [String] { h.writeSummary.filter { !$0.contains("imagetaghistories") } }

    @Test("a tag moved to a digest first seen now is cooling-down, not rolled; once known for the cooldown it is rolled")
    func youngDigestIsHeldThenAdopted() async throws {
        try await SweepHarness.run { h in
            // Whole seconds: the ledger stores RFC 3339 seconds, and the reason's "in 48h" rounds down.
            let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in SafetyEndToEndTests.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            let reference = try key(h, "team/web", "1.4")
            try await ledger(h).record(reference: reference, digest: old.index, at: now.addingTimeInterval(-200 * Self.hour))
            let fresh = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            h.kube.clearRecordedCalls()
            let options = SweepLedgerOptions(ledger: ledger(h), cooldown: .seconds(72 * 3600))

            let held = try await sweep(h, ledger: options, now: now)

            #expect(Set(held.findings.map(\.judgement.verdict)) == [.coolingDown])
            let reason = try #require(held.findings.first?.judgement.reason)
            #expect(reason.contains("first seen now") && reason.contains("cooldown (72h)"), "\(reason)")
            #expect(workloadWrites(h).isEmpty)
            #expect(held.exitCode == 0)
            // The sweep started the new digest's clock: the ledger has it, first seen at the sweep's time.
            let history = try #require(try await ledger(h).history(of: reference))
            #expect(history.spec.digests.map(\.digest) == [fresh.index, old.index])
            #expect(history.spec.record(of: fresh.index)?.firstSeenDate.map { abs($0.timeIntervalSince(now)) < 1 } == true)

            // A day later: still young, and the clock did not restart.
            let stillHeld = try await sweep(h, ledger: options, now: now.addingTimeInterval(24 * Self.hour))
            #expect(Set(stillHeld.findings.map(\.judgement.verdict)) == [.coolingDown])
            #expect(stillHeld.findings.first?.judgement.reason?.contains("first seen 24h ago") == true)
            #expect(stillHeld.findings.first?.judgement.reason?.contains("in 48h") == true)
            #expect(workloadWrites(h).isEmpty)

            // Past the cooldown: tag-moved, rolled.
            let adopted = try await sweep(h, ledger: options, now: now.addingTimeInterval(73 * Self.hour))
            #expect(Set(adopted.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(workloadWrites(h) == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
        }
    }

    @Test("a namespace labelled kate.dev/cooldown=0 rolls at once; an invalid label keeps --cooldown and says so")
    func namespaceLabelReplacesTheFlag() async throws {
        try await SweepHarness.run { h in
            let now = Date()
            _ = try h.kube.addNamespace("default", labels: [KateAnnotations.cooldown: "0"])
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in SafetyEndToEndTests.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            h.kube.clearRecordedCalls()

            let report = try await sweep(h, ledger: SweepLedgerOptions(ledger: ledger(h), cooldown: .seconds(72 * 3600)), now: now)

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(workloadWrites(h) == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
        }
        try await SweepHarness.run { h in
            _ = try h.kube.addNamespace("default", labels: [KateAnnotations.cooldown: "3days"])
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in SafetyEndToEndTests.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])

            let report = try await sweep(h, ledger: SweepLedgerOptions(ledger: ledger(h), cooldown: .seconds(3600)), now: Date())

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.coolingDown])
            #expect(report.warnings.contains { $0.contains("kate.dev/cooldown=3days is not a duration") && $0.contains("using --cooldown 1h") })
        }
    }

    @Test("report and dry-run sweeps write nothing to the ledger; without a cooldown the ledger is still recorded")
    func readOnlySweepsDoNotRecord() async throws {
        try await SweepHarness.run { h in
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in SafetyEndToEndTests.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            let options = SweepLedgerOptions(ledger: ledger(h), cooldown: .zero)
            h.kube.clearRecordedCalls()
            _ = try await sweep(h, ledger: options, now: Date(), policy: SweepHarness.policy(.report))
            _ = try await sweep(h, ledger: options, now: Date(), policy: SweepHarness.policy(dryRun: true))
            #expect(h.writes.isEmpty)
            #expect(try await ledger(h).history(of: try key(h, "team/web", "1.4")) == nil)

            _ = try await sweep(h, ledger: options, now: Date())
            let history = try #require(try await ledger(h).history(of: try key(h, "team/web", "1.4")))
            #expect(history.spec.digests.map(\.digest) == [old.index])
        }
    }

    @Test("ledger GC forgets tags no pod uses once unseen for the retention; a namespace-scoped sweep forgets nothing")
    func garbageCollection() async throws {
        try await SweepHarness.run { h in
            let now = Date()
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in SafetyEndToEndTests.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            let inUse = try key(h, "team/web", "1.4")
            let ledger = ledger(h)
            try await ledger.record(reference: inUse, digest: old.index, at: now.addingTimeInterval(-30 * 24 * Self.hour))
            try await ledger.record(reference: "docker.io/library/gone:1", digest: "sha256:" + String(repeating: "1", count: 64), at: now.addingTimeInterval(-10 * 24 * Self.hour))
            try await ledger.record(reference: "docker.io/library/recent:1", digest: "sha256:" + String(repeating: "2", count: 64), at: now.addingTimeInterval(-1 * 24 * Self.hour))
            let options = SweepLedgerOptions(ledger: ledger, retention: .seconds(7 * 24 * 3600))

            _ = try await sweep(h, ledger: options, now: now, namespace: "default")
            #expect(try await ledger.histories().count == 3)

            let report = try await sweep(h, ledger: options, now: now)
            let left = try await ledger.histories().map(\.spec.reference).sorted()
            #expect(left == ["docker.io/library/recent:1", inUse].sorted(), "\(report.warnings)")
        }
    }
}
