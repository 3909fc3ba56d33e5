import Foundation
import KateKube
import KateRegistry
import Logging
import MetricsTestKit
import Testing
@testable import KateSweeper

/// The push-triggered sweep (issue #17): the ordinary Sweeper over a cluster narrowed to the pods
/// of one tag, so only that tag is resolved and only its owners are rolled.
@Suite("push-triggered targeted sweep")
struct PushSweeperTests {
    static let old = Fixtures.digest("a")
    static let new = Fixtures.digest("b")

    static func pods(_ app: String, image: String, count: Int = 2) throws -> [Pod] {
        try (1...count).map { index in
            try Fixtures.decodePod(Fixtures.pod(
                name: "\(app)-7d4b9-\(index)", owner: .init(kind: "ReplicaSet", name: "\(app)-7d4b9", uid: "\(app)-rs"),
                labels: ["app": app, "pod-template-hash": "7d4b9"],
                containers: [.init(name: "app", image: image, imageID: "\(image.split(separator: ":")[0])@\(old)")]))
        }
    }

    static func workloads(_ app: String, image: String) -> [WorkloadState] {
        [
            WorkloadState(
                reference: WorkloadReference(kind: .replicaSet, namespace: "default", name: "\(app)-7d4b9"), uid: "\(app)-rs",
                controller: OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: app, uid: "\(app)-dep", controller: true)),
            WorkloadState(
                reference: WorkloadReference(kind: .deployment, namespace: "default", name: app), uid: "\(app)-dep",
                generation: 4, observedGeneration: 4, replicas: 2, updatedReplicas: 2, templateImages: ["app": image]),
        ]
    }

    static func cluster() throws -> InMemoryCluster {
        InMemoryCluster(
            pods: try pods("web", image: "registry.local/web:1") + pods("api", image: "registry.local/api:2"),
            workloads: workloads("web", image: "registry.local/web:1") + workloads("api", image: "registry.local/api:2"))
    }

    @Test("only the owners of pods using the pushed tag are judged and rolled; other stale tags are left to the scheduled sweep")
    func onlyThePushedTag() async throws {
        let cluster = try Self.cluster()
        let resolver = TableResolver(["registry.local/web:1": .init(digest: Self.new), "registry.local/api:2": .init(digest: Self.new)])
        let sweeper = PushSweeper(Sweeper(cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test"),
                                          metrics: SweepMetrics(factory: TestMetrics())))
        let report = try await sweeper.sweep(try ImageReference.parse("registry.local/web:1"))
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(!resolver.calls.withLock { $0 }.contains { $0.contains("api") })
        #expect(report.stalePods == 2)

        // The scheduled (unscoped) sweep would roll both: the narrowing is what kept api out.
        let full = try Self.cluster()
        _ = try await Sweeper(cluster: full, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test"),
                              metrics: SweepMetrics(factory: TestMetrics())).run()
        #expect(Set(full.writes) == ["restart Deployment default/web", "restart Deployment default/api"])
    }

    @Test("pinned pods count as users of the tag (the webhook keeps the tag before @sha256); other repositories and tags do not")
    func tagMatching() throws {
        let scoped = TagScopedCluster(base: InMemoryCluster(), reference: try ImageReference.parse("registry.local/web:1"))
        func pod(_ image: String) throws -> Pod {
            try Fixtures.decodePod(Fixtures.pod(name: "p", owner: nil, labels: [:], containers: [.init(name: "app", image: image, imageID: "x@\(Self.old)")]))
        }
        #expect(scoped.uses(try pod("registry.local/web:1@\(Self.old)")))
        #expect(scoped.uses(try pod("registry.local/web:1")))
        #expect(!scoped.uses(try pod("registry.local/web:2")))
        #expect(!scoped.uses(try pod("registry.local/web-admin:1")))
        #expect(!scoped.uses(try pod("registry.local/web@\(Self.old)")))
        let latest = TagScopedCluster(base: InMemoryCluster(), reference: try ImageReference.parse("docker.io/library/nginx:latest"))
        #expect(latest.uses(try pod("nginx")))
    }

    @Test("the trigger queue never blocks, keeps one entry per tag, stays bounded, and ends on finish")
    func triggers() async throws {
        let triggers = PushSweepTriggers(capacity: 2)
        let web = try ImageReference.parse("registry.local/web:1")
        triggers.push(web)
        triggers.push(web)
        #expect(triggers.pending == 1)
        triggers.push(try ImageReference.parse("registry.local/api:2"))
        triggers.push(try ImageReference.parse("registry.local/db:3"))
        #expect(triggers.pending == 2)
        #expect(await triggers.next()?.description == "registry.local/api:2")
        #expect(await triggers.next()?.description == "registry.local/db:3")
        let waiting = Task { await triggers.next() }
        try await Task.sleep(for: .milliseconds(20))
        triggers.push(web)
        #expect(await waiting.value?.description == "registry.local/web:1")
        triggers.finish()
        #expect(await triggers.next() == nil)
        let cancelled = Task { await PushSweepTriggers().next() }
        cancelled.cancel()
        #expect(await cancelled.value == nil)
    }
}
