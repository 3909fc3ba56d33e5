import Foundation
import KateContract
import KateKube
import KateRegistry
import Logging
import MetricsTestKit
import Synchronization
import Testing
@testable import KateSweeper

/// The sentinel and the gate inside the pipeline, with scripted registry answers and nodes.
@Suite("sweep safety checks with fakes")
struct SafetyChecksTests {
    /// `TableResolver` for tags, plus scripted digest presence and platform lists.
    final class SafetyResolver: TagResolving {
        let tags: TableResolver
        let presence: [String: DigestPresence]
        let lists: [String: PlatformList]
        let heads = Mutex<[String]>([])

        init(_ tags: TableResolver, presence: [String: DigestPresence] = [:], lists: [String: PlatformList] = [:]) {
            self.tags = tags
            self.presence = presence
            self.lists = lists
        }

        func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String {
            try await tags.currentDigest(of: reference, keyring: keyring, deadline: deadline)
        }
        func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
            try await tags.platformDigests(of: reference, indexDigest: indexDigest, keyring: keyring, deadline: deadline)
        }
        func presence(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async -> DigestPresence {
            heads.withLock { $0.append(digest) }
            return presence[digest] ?? .present
        }
        func platformList(of reference: ImageReference, digest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> PlatformList {
            lists[digest] ?? .singlePlatform
        }
    }

    final class NodedCluster: SweepCluster, NodePlatformReading, @unchecked Sendable {
        let inner: InMemoryCluster
        let platforms: Set<Platform>
        init(_ inner: InMemoryCluster, platforms: Set<Platform>) {
            self.inner = inner
            self.platforms = platforms
        }
        func nodePlatforms() async throws -> Set<Platform> { platforms }
        func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] { try await inner.listPods(namespace: namespace, labelSelector: labelSelector) }
        func optedOutNamespaces() async throws -> Set<String> { try await inner.optedOutNamespaces() }
        func workload(_ reference: WorkloadReference) async throws -> WorkloadState? { try await inner.workload(reference) }
        func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? { try await inner.serviceAccountPullSecrets(namespace: namespace, name: name) }
        func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? { try await inner.pullSecretConfig(namespace: namespace, name: name) }
        func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws { try await inner.rolloutRestart(workload, at: at) }
        func evict(namespace: String, pod: String) async throws -> EvictionOutcome { try await inner.evict(namespace: namespace, pod: pod) }
        func deletePod(namespace: String, name: String, uid: String) async throws { try await inner.deletePod(namespace: namespace, name: name, uid: uid) }
        func recordEvent(_ event: SweepEvent) async throws { try await inner.recordEvent(event) }
    }

    static let old = SweeperPipelineTests.old, new = SweeperPipelineTests.new

    func sweep(_ cluster: any SweepCluster, _ resolver: SafetyResolver, metrics: TestMetrics = TestMetrics()) async throws -> SweepReport {
        try await Sweeper(cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test"), metrics: SweepMetrics(factory: metrics)).run()
    }

    @Test("a 5xx on the HEAD is a warning, never dangling; the roll goes on as tag-moved")
    func unknownPresenceIsReportedNotActedOn() async throws {
        let cluster = InMemoryCluster(pods: try SweeperPipelineTests.webPods(pinned: Self.old), workloads: SweeperPipelineTests.workloads)
        let resolver = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), presence: [Self.old: .unknown("registry answered 503")])
        let report = try await sweep(cluster, resolver)
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
        #expect(report.warnings.contains { $0.contains("could not check") && $0.contains("503") })
        #expect(resolver.heads.withLock { $0 } == [Self.old], "five pods, one HEAD")
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(!cluster.events.contains { $0.reason == "DanglingImageDigest" })
    }

    @Test("a 404 on the pin: dangling, one Warning Event on the Deployment, the gauge, a restart")
    func missingPinIsDangling() async throws {
        let cluster = InMemoryCluster(pods: try SweeperPipelineTests.webPods(pinned: Self.old), workloads: SweeperPipelineTests.workloads)
        let resolver = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), presence: [Self.old: .missing("404")])
        let metrics = TestMetrics()
        let report = try await sweep(cluster, resolver, metrics: metrics)
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.dangling])
        #expect(cluster.writes == ["restart Deployment default/web"])
        let dangling = cluster.events.filter { $0.reason == "DanglingImageDigest" }
        #expect(dangling.count == 1)
        #expect(dangling.first?.regarding.kind == "Deployment" && dangling.first?.type == "Warning")
        #expect(try metrics.expectGauge("kate_dangling_digests", [("namespace", "default"), ("owner", "Deployment/web")]).lastValue == 1)
        #expect(try metrics.expectGauge("kate_sweep_pods", [("verdict", "dangling")]).lastValue == 5)
    }

    @Test("report mode: dangling is reported, no Event")
    func reportModeWritesNoEvent() async throws {
        let cluster = InMemoryCluster(pods: try SweeperPipelineTests.webPods(pinned: Self.old), workloads: SweeperPipelineTests.workloads)
        let resolver = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), presence: [Self.old: .missing("404")])
        let report = try await Sweeper(
            cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(policy: ActionPolicy(action: .report)), logger: Logger(label: "test")
        ).run()
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.dangling])
        #expect(cluster.events.isEmpty && cluster.writes.isEmpty)
        #expect(report.exitCode == 2)
    }

    @Test("the gate: a new index without a node platform is platform-gap and not restarted; one covering it rolls")
    func platformGap() async throws {
        let amd = Platform(os: "linux", architecture: "amd64"), arm = Platform(os: "linux", architecture: "arm64")
        let inner = InMemoryCluster(pods: try SweeperPipelineTests.webPods(pinned: Self.old), workloads: SweeperPipelineTests.workloads)
        let cluster = NodedCluster(inner, platforms: [amd, arm])
        let gap = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), lists: [Self.new: .index([amd])])
        let report = try await sweep(cluster, gap)
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.platformGap])
        #expect(report.findings.first?.judgement.reason?.contains("linux/arm64") == true)
        #expect(inner.writes.isEmpty)
        #expect(report.exitCode == 0)

        let covered = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), lists: [Self.new: .index([amd, arm])])
        _ = try await sweep(cluster, covered)
        #expect(inner.writes == ["restart Deployment default/web"])
    }

    @Test("pods whose nodeSelector picks amd64 roll onto an amd64-only index; unselective pods of the same tag do not")
    func selectedPlatformNarrowsTheGate() async throws {
        let amd = Platform(os: "linux", architecture: "amd64"), arm = Platform(os: "linux", architecture: "arm64")
        var pods = try SweeperPipelineTests.webPods(pinned: Self.old)
        for index in pods.indices { pods[index].spec.nodeSelector = ["kubernetes.io/arch": "amd64"] }
        let inner = InMemoryCluster(pods: pods, workloads: SweeperPipelineTests.workloads)
        let resolver = SafetyResolver(TableResolver(["registry.local/web:1": .init(digest: Self.new)]), lists: [Self.new: .index([amd])])
        let report = try await sweep(NodedCluster(inner, platforms: [amd, arm]), resolver)
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
        #expect(inner.writes == ["restart Deployment default/web"])

        for index in pods.indices { pods[index].spec.nodeSelector = ["kubernetes.io/arch": "arm64"] }
        let armOnly = InMemoryCluster(pods: pods, workloads: SweeperPipelineTests.workloads)
        let held = try await sweep(NodedCluster(armOnly, platforms: [amd]), resolver)
        #expect(Set(held.findings.map(\.judgement.verdict)) == [.platformGap], "the selected arm64 counts even with no arm64 node listed")
        #expect(held.findings.first?.judgement.reason?.contains("nodeSelector") == true)
    }
}
