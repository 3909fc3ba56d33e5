import Foundation
import KateKube
import Logging
import MetricsTestKit
import Testing
@testable import KateSweeper

/// The whole pipeline against in-memory fakes: what is resolved, judged, planned and written.
@Suite("sweep pipeline with fakes")
struct SweeperPipelineTests {
    static let old = Fixtures.digest("a")
    static let new = Fixtures.digest("b")

    static func webPods(count: Int = 5, running: String = old, pinned: String? = nil) throws -> [Pod] {
        let image = pinned.map { "registry.local/web:1@\($0)" } ?? "registry.local/web:1"
        return try (1...count).map { index in
            try Fixtures.decodePod(Fixtures.pod(
                name: "web-7d4b9-\(index)", owner: .init(kind: "ReplicaSet", name: "web-7d4b9", uid: "rs-uid"),
                labels: ["app": "web", "pod-template-hash": "7d4b9"],
                containers: [.init(name: "app", image: image, imageID: "registry.local/web@\(running)")]))
        }
    }

    static let workloads = [
        WorkloadState(
            reference: WorkloadReference(kind: .replicaSet, namespace: "default", name: "web-7d4b9"), uid: "rs-uid",
            controller: OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "dep-uid", controller: true)),
        WorkloadState(
            reference: WorkloadReference(kind: .deployment, namespace: "default", name: "web"), uid: "dep-uid",
            generation: 4, observedGeneration: 4, replicas: 5, updatedReplicas: 5, templateImages: ["app": "registry.local/web:1"]),
    ]

    static func sweeper(_ cluster: InMemoryCluster, _ resolver: TableResolver, policy: ActionPolicy = ActionPolicy(), metrics: TestMetrics = TestMetrics()) -> Sweeper {
        Sweeper(
            cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(policy: policy),
            logger: Logger(label: "test"), metrics: SweepMetrics(factory: metrics))
    }

    static let resolver = TableResolver(["registry.local/web:1": .init(digest: new)])

    @Test func onePodTagResolvedOnceAndOwnerRestartedOnce() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        let resolver = TableResolver(["registry.local/web:1": .init(digest: Self.new)])
        let report = try await Self.sweeper(cluster, resolver).run()
        #expect(resolver.calls.withLock { $0 } == ["resolve registry.local/web:1", "platforms registry.local/web:1"])
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(report.stalePods == 5)
        #expect(report.exitCode == 0)
        let event = try #require(cluster.events.first)
        #expect(event.reason == "StaleImageRestarted")
        #expect(event.regarding.kind == "Deployment" && event.regarding.uid == "dep-uid")
        #expect(event.note.contains("registry.local/web:1") && event.note.contains("running \(ImageDigest.short(Self.old))") && event.note.contains("tag \(ImageDigest.short(Self.new))"))
        #expect(Set(ReportRow.rows(of: report).map(\.action)) == ["restarted Deployment/web"])
    }

    @Test func currentPodsNeedNoPlatformListing() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(running: Self.new), workloads: Self.workloads)
        let resolver = TableResolver(["registry.local/web:1": .init(digest: Self.new)])
        let report = try await Self.sweeper(cluster, resolver).run()
        #expect(resolver.calls.withLock { $0 } == ["resolve registry.local/web:1"])
        #expect(report.stalePods == 0 && report.exitCode == 0)
        #expect(cluster.writes.isEmpty && cluster.state.withLock { $0.reads } == 0)
    }

    @Test(arguments: [ActionPolicy(action: .rollout, dryRun: true), ActionPolicy(action: .report)])
    func dryRunAndReportWriteNothing(_ policy: ActionPolicy) async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        let report = try await Self.sweeper(cluster, Self.resolver, policy: policy).run()
        #expect(cluster.writes.isEmpty && cluster.events.isEmpty)
        #expect(report.exitCode == 2)
        #expect(Set(ReportRow.rows(of: report).map(\.action)) == ["would restart Deployment/web"])
    }

    @Test func maxActionsDefersTheRest() async throws {
        let pods = try (1...3).map { index in
            try Fixtures.decodePod(Fixtures.pod(name: "solo-\(index)", containers: [.init(name: "app", image: "registry.local/web:1", imageID: "registry.local/web@\(Self.old)")]))
        }
        let cluster = InMemoryCluster(pods: pods)
        let report = try await Self.sweeper(cluster, Self.resolver, policy: ActionPolicy(maxActions: 2)).run()
        #expect(cluster.writes == ["evict default/solo-1", "evict default/solo-2"])
        #expect(report.actionText(for: PodKey(namespace: "default", name: "solo-3")).hasPrefix("deferred: --max-actions 2"))
        // What was not done is said where `kubectl describe` shows it.
        let deferred = try #require(cluster.events.first { $0.reason == "StaleImageDeferred" })
        #expect(deferred.regarding.name == "solo-3" && deferred.note.hasPrefix("kate sweep: not evicted: --max-actions 2 reached"))
    }

    @Test func secondSweepSeesRolloutInProgress() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        _ = try await Self.sweeper(cluster, Self.resolver).run()
        let second = try await Self.sweeper(cluster, Self.resolver).run()
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(second.actionText(for: PodKey(namespace: "default", name: "web-7d4b9-1")).contains("rollout in progress"))
    }

    @Test func registryErrorMeansUnknownAndNoWrite() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        let resolver = TableResolver([:], failures: ["registry.local/web:1": "registry registry.local answered 500"])
        let metrics = TestMetrics()
        let report = try await Self.sweeper(cluster, resolver, metrics: metrics).run()
        #expect(cluster.writes.isEmpty)
        #expect(Set(report.findings.map(\.judgement.verdict)) == [.unknown])
        #expect(try metrics.expectCounter("kate_sweep_resolve_errors_total").totalValue == 1)
        #expect(try metrics.expectGauge("kate_sweep_pods", [("verdict", "unknown")]).lastValue == 5)
    }

    @Test func metricsCountPodsAndActions() async throws {
        let metrics = TestMetrics()
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        let before = Date().timeIntervalSince1970
        _ = try await Self.sweeper(cluster, Self.resolver, metrics: metrics).run()
        let lastSuccess = try #require(try metrics.expectGauge("kate_sweep_last_success_timestamp_seconds").lastValue)
        #expect(lastSuccess >= before && lastSuccess <= Date().timeIntervalSince1970)
        #expect(try metrics.expectGauge("kate_sweep_stale_pods").lastValue == 5)
        #expect(try metrics.expectCounter("kate_sweep_actions_total", [("action", "restart"), ("outcome", "ok")]).totalValue == 1)
        #expect(try metrics.expectTimer("kate_sweep_duration_seconds").values.count == 1)
    }

    @Test func unpinnedIfNotPresentIsWarned() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(), workloads: Self.workloads)
        let report = try await Self.sweeper(cluster, Self.resolver, policy: ActionPolicy(action: .report)).run()
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains("IfNotPresent") == true)
        let pinned = InMemoryCluster(pods: try Self.webPods(pinned: Self.old), workloads: Self.workloads)
        #expect(try await Self.sweeper(pinned, Self.resolver, policy: ActionPolicy(action: .report)).run().warnings.isEmpty)
    }

    @Test func renderedOutputs() async throws {
        let cluster = InMemoryCluster(pods: try Self.webPods(count: 1), workloads: Self.workloads)
        let report = try await Self.sweeper(cluster, Self.resolver, policy: ActionPolicy(action: .report)).run()
        let table = ReportRenderer.table(report)
        #expect(table.hasPrefix("NAMESPACE  POD"))
        #expect(table.contains(ImageDigest.short(Self.old)) && !table.contains(Self.old))
        #expect(table.contains("swept 1 pod: 1 tag-moved"))
        let json = try ReportRenderer.json(report)
        let document = try JSONDecoder().decode(ReportRenderer.JSONDocument.self, from: Data(json.utf8))
        let row = try #require(document.rows.first)
        #expect(row.running == Self.old && row.registry == Self.new && row.verdict == .tagMoved)
        #expect(document.exitCode == 2)
    }

    @Test func metricsFileIsReplacedAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kate-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("kate.prom").path
        try MetricsFile.write(Array("a 1\n".utf8), to: path)
        try MetricsFile.write(Array("a 2\n".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 2\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["kate.prom"])
        #expect(throws: MetricsFileError.self) { try MetricsFile.write([], to: directory.appendingPathComponent("missing/kate.prom").path) }
    }
}
