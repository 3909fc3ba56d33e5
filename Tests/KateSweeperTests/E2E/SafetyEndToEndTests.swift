import Foundation
import KateKube
import KateRegistry
import KateSweeper
import KubeTestServer
import Logging
import MetricsTestKit
import RegistryTestSupport
import Testing

/// The dangling-pin sentinel and the platform-coverage gate against the test API server and a real
/// `docker-registry` (storage delete enabled): digests really deleted, indexes really pushed.
@Suite("kate sweep safety: dangling pins and platform gaps", .serialized)
struct SafetyEndToEndTests {
    /// A Deployment whose pods pin `pinned` (the webhook's `repo:tag@digest`) and run it.
    static func pinnedDeployment(_ h: SweepHarness, repository: String, tag: String, pinned: String, pods: Int = 3) -> [[String: Any]] {
        let image = h.image(repository, tag)
        let rsName = "web-7c9d"
        var objects: [[String: Any]] = [
            Fixtures.deployment(name: "web", uid: "web-dep-uid", image: image, replicas: pods),
            Fixtures.replicaSet(name: rsName, uid: "web-rs-uid", deployment: .init(kind: "Deployment", name: "web", uid: "web-dep-uid"), image: image, hash: "7c9d"),
        ]
        for index in 0..<pods {
            objects.append(Fixtures.pod(
                name: "\(rsName)-\(index)", owner: .init(kind: "ReplicaSet", name: rsName, uid: "web-rs-uid"),
                labels: ["app": "web", "pod-template-hash": "7c9d"],
                containers: [.init(name: "app", image: "\(image)@\(pinned)", imageID: "\(h.registry.host)/\(repository)@\(pinned)")]))
        }
        return objects
    }

    func sweep(
        _ h: SweepHarness, _ policy: ActionPolicy = SweepHarness.policy(), safety: SafetyOptions = SafetyOptions(), metrics: TestMetrics = TestMetrics(),
        resolver: Resolver? = nil
    ) async throws -> SweepReport {
        let sweeper = Sweeper(
            cluster: h.client, resolver: resolver ?? h.resolver,
            configuration: SweeperConfiguration(policy: policy, resolveTimeout: .seconds(10), safety: safety), logger: h.logger,
            metrics: SweepMetrics(factory: metrics))
        return try await sweeper.run()
    }

    @Test func deletedPinnedDigestIsDanglingGetsAnEventAndRollsOntoTheFreshPin() async throws {
        try await SweepHarness.run { h in
            try h.kube.addNode("node-1")
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            // Retention deletes the pinned index; the tag is pushed again (a rebuild).
            try await h.registry.deleteTag(repository: "team/web", tag: "1.4")
            let fresh = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            #expect(fresh.index != old.index)
            h.kube.clearRecordedCalls()
            let metrics = TestMetrics()
            let before = try await h.registry.manifestRequests(repository: "team/web").count

            let report = try await sweep(h, metrics: metrics)

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.dangling])
            let finding = try #require(report.findings.first)
            #expect(finding.judgement.danglingDigest == old.index)
            #expect(finding.judgement.currentDigest == fresh.index)
            #expect(finding.judgement.reason?.contains("gone from the registry (404)") == true)
            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
            let events = h.events.map(\.bodyText)
            #expect(events.count == 2)
            let dangling = try #require(events.first { $0.contains("DanglingImageDigest") })
            #expect(dangling.contains(old.index) && dangling.contains(fresh.index) && dangling.contains("\"Warning\""))
            #expect(dangling.contains("\"name\":\"web\"") && dangling.contains("Deployment"))
            #expect(events.contains { $0.contains("StaleImageRestarted") && $0.contains("dangling") })
            #expect(try metrics.expectGauge("kate_dangling_digests", [("namespace", "default"), ("owner", "Deployment/web")]).lastValue == 1)
            // One HEAD by digest for three pods pinning the same digest.
            let sweepRequests = try await h.registry.manifestRequests(repository: "team/web").dropFirst(before)
            #expect(sweepRequests.filter { $0.method == "HEAD" && $0.target.hasSuffix("/manifests/\(old.index)") }.map(\.status) == [404])
        }
    }

    @Test func danglingPinWhoseTagIsGoneIsReportedNotRestarted() async throws {
        try await SweepHarness.run { h in
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            try await h.registry.deleteTag(repository: "team/web", tag: "1.4")
            h.kube.clearRecordedCalls()

            let report = try await sweep(h)

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.dangling])
            #expect(h.writeSummary.isEmpty)
            #expect(h.events.count == 1)
            #expect(h.events.first?.bodyText.contains("DanglingImageDigest") == true)
            #expect(report.actionText(for: PodKey(namespace: "default", name: "web-7c9d-0")).contains("tag does not resolve"))
        }
    }

    @Test func sentinelOffLeavesTheVerdictTagMoved() async throws {
        try await SweepHarness.run { h in
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            try await h.registry.deleteTag(repository: "team/web", tag: "1.4")
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            let before = try await h.registry.manifestRequests(repository: "team/web").count

            let report = try await sweep(h, safety: SafetyOptions(danglingCheck: false, platformGate: false))

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
            let sweepRequests = try await h.registry.manifestRequests(repository: "team/web").dropFirst(before)
            #expect(!sweepRequests.contains { $0.target.hasSuffix("/manifests/\(old.index)") })
        }
    }

    @Test func presentPinnedDigestIsNotDangling() async throws {
        try await SweepHarness.run { h in
            try h.kube.addNode("node-1")
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            // The tag moves; the old index stays in the registry.
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])

            let report = try await sweep(h, SweepHarness.policy(.report))

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(report.findings.allSatisfy { $0.judgement.danglingDigest == nil })
        }
    }

    @Test func indexWithoutArm64WhileANodeIsArm64IsAPlatformGapAndNotRolled() async throws {
        try await SweepHarness.run { h in
            try h.kube.addNode("node-amd", architecture: "amd64")
            try h.kube.addNode("node-arm", architecture: "arm64")
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            // The tag moves to an index that dropped arm64 (crate#17218).
            let gap = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            h.kube.clearRecordedCalls()
            let before = try await h.registry.manifestRequests(repository: "team/web").count

            let report = try await sweep(h)

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.platformGap])
            let reason = try #require(report.findings.first?.judgement.reason)
            #expect(reason.contains("linux/arm64") && reason.contains("not rolled"))
            #expect(h.writeSummary.isEmpty)
            #expect(h.events.isEmpty)
            #expect(report.exitCode == 0)
            // One GET of the new index; the node list read once.
            let sweepRequests = try await h.registry.manifestRequests(repository: "team/web").dropFirst(before)
            #expect(sweepRequests.filter { $0.method == "GET" && $0.target.hasSuffix("/manifests/\(gap.index)") }.count == 1)
            #expect(h.kube.recordedCalls.filter { $0.method == "GET" && $0.path == "/api/v1/nodes" }.count == 1)
            #expect(ReportRenderer.table(report).contains("platform-gap"))

            // Retried on the next sweep: once arm64 is back, the roll goes ahead.
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64", "linux/s390x"])
            // A sweep is a fresh process (a CronJob run): a fresh resolver, no cached tag.
            var configuration = SweepHarness.resolverConfiguration(plainHTTP: [])
            configuration.registries[h.registry.host] = h.registry.settings
            let fresh = Resolver(configuration: configuration, logger: h.logger)
            let next = try await sweep(h, resolver: fresh)
            await fresh.shutdown()
            #expect(Set(next.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
        }
    }

    @Test func platformGateOffRollsOntoTheGap() async throws {
        try await SweepHarness.run { h in
            try h.kube.addNode("node-arm", architecture: "arm64")
            let old = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64", "linux/arm64"])
            for object in Self.pinnedDeployment(h, repository: "team/web", tag: "1.4", pinned: old.index) { try h.put(object) }
            _ = try await h.registry.pushIndex(repository: "team/web", tag: "1.4", platforms: ["linux/amd64"])
            h.kube.clearRecordedCalls()

            let report = try await sweep(h, safety: SafetyOptions(platformGate: false))

            #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
        }
    }
}
