import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

/// Evictions paced inside one sweep, like `kubectl drain`: evict one pod, wait for the workload's
/// ready pods to recover, then the next. The test plays the workload controller (`PlayedController`).
@Suite("kate sweep paced evictions", .serialized)
struct PacedEvictionTests {
    static let gone = SweepEndToEndTests.gone

    struct Workload {
        var kind: String
        var name: String
        var uid: String
        var labels: [String: String]
        var owner: Fixtures.Owner { .init(kind: kind, name: name, uid: uid) }
    }

    /// Stale pods of `workload`, and for each a replacement running `current` (Ready or not).
    static func pods(
        _ h: SweepHarness, of workload: Workload, names: [String], repository: String, tag: String, current: String, replacementNames: [String]? = nil,
        replacementsReady: Bool = true
    ) throws -> (stale: [[String: Any]], watched: [PlayedController.Watched]) {
        var stale: [[String: Any]] = []
        var watched: [PlayedController.Watched] = []
        for (index, name) in names.enumerated() {
            let image = h.image(repository, tag)
            stale.append(Fixtures.pod(
                name: name, owner: workload.owner, labels: workload.labels,
                containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/\(repository)@\(gone)")]))
            let replacementName = replacementNames?[index] ?? name
            let replacement = Fixtures.pod(
                name: replacementName, uid: "replacement-\(replacementName)", owner: workload.owner, labels: workload.labels,
                containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/\(repository)@\(current)")], ready: replacementsReady)
            watched.append(.init(namespace: "default", name: name, uid: "uid-default-\(name)", replacement: try Fixtures.bytes(replacement)))
        }
        return (stale, watched)
    }

    @Test func onDeleteStatefulSetEvictsEachPodAfterTheLastOneIsReplaced() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "data/db", tag: "16")
            let db = Workload(kind: "StatefulSet", name: "db", uid: "sts-uid", labels: ["app": "db", "controller-revision-hash": "db-7c9d"])
            try h.put(Fixtures.statefulSet(name: "db", uid: db.uid, image: h.image("data/db", "16"), strategy: "OnDelete", replicas: 3))
            let (stale, watched) = try Self.pods(h, of: db, names: ["db-0", "db-1", "db-2"], repository: "data/db", tag: "16", current: current)
            for pod in stale { try h.put(pod) }
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)

            let report = try await h.sweep(SweepHarness.policy(evictionWait: .seconds(10)))
            await controller.stop(afterReplacing: 3)

            #expect(h.writeSummary == ["db-0", "db-1", "db-2"].map { "POST /api/v1/namespaces/default/pods/\($0)/eviction" })
            for name in ["db-0", "db-1", "db-2"] { #expect(report.actionText(for: PodKey(namespace: "default", name: name)) == "evicted") }
            // The pacing itself: each pod was still untouched when the one before it got its replacement.
            #expect(controller.presentAtReplacement == ["db-0": ["db-1", "db-2"], "db-1": ["db-2"], "db-2": []])
            // One Event for the three evictions, regarding the StatefulSet (the first evicted pod related),
            // created once and then counted up, as kubelet's event correlator does with repeats.
            #expect(h.events.map(\.method) == ["POST", "PATCH", "PATCH"])
            let created = try #require(h.events.first?.bodyJSON)
            #expect(created[path: ["regarding", "kind"]]?.stringValue == "StatefulSet" && created[path: ["regarding", "uid"]]?.stringValue == "sts-uid")
            #expect(created[path: ["related", "name"]]?.stringValue == "db-0" && created["reason"]?.stringValue == "StaleImageEvicted")
            #expect(h.events.dropFirst().compactMap { $0.bodyJSON?[path: ["series", "count"]]?.intValue } == [2, 3])
            let name = try #require(created[path: ["metadata", "name"]]?.stringValue)
            let stored = try #require(h.kube.object(.coreEvents, namespace: "default", name: name))
            #expect(stored[path: ["series", "count"]]?.intValue == 3)
            #expect(stored["message"]?.stringValue?.contains("evicted (3 pods: db-0, db-1, db-2)") == true)
        }
    }

    @Test func bareReplicaSetWaitsTheBoundForAReplacementThatNeverGetsReadyThenReports() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/legacy", tag: "3")
            let legacy = Workload(kind: "ReplicaSet", name: "legacy", uid: "legacy-rs-uid", labels: ["pod-template-hash": "legacy"])
            try h.put(Fixtures.replicaSet(name: "legacy", uid: legacy.uid, deployment: nil, image: h.image("team/legacy", "3"), hash: "legacy"))
            let (stale, watched) = try Self.pods(
                h, of: legacy, names: ["legacy-a", "legacy-b"], repository: "team/legacy", tag: "3", current: current,
                replacementNames: ["legacy-c", "legacy-d"], replacementsReady: false)
            for pod in stale { try h.put(pod) }
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)

            let started = ContinuousClock.now
            let report = try await h.sweep(SweepHarness.policy(evictionWait: .milliseconds(700)))
            let elapsed = ContinuousClock.now - started
            await controller.stop()

            #expect(controller.replaced == ["legacy-a"], "the replacement exists, it is just not Ready")
            #expect(h.writeSummary == ["POST /api/v1/namespaces/default/pods/legacy-a/eviction"])
            #expect(report.actionText(for: PodKey(namespace: "default", name: "legacy-a")) == "evicted")
            let waiting = report.actionText(for: PodKey(namespace: "default", name: "legacy-b"))
            #expect(waiting.hasPrefix("waiting: ReplicaSet default/legacy did not recover from evicting default/legacy-a within 0.7s"), "\(waiting)")
            #expect(waiting.contains("1 of 2 pods Ready") && waiting.hasSuffix("; next sweep"), "\(waiting)")
            #expect(elapsed >= .milliseconds(700) && elapsed < .seconds(5), "bounded by --eviction-wait: \(elapsed)")
            #expect(report.summary.contains("1 waiting"), "\(report.summary)")
            let reasons = h.events.compactMap { $0.bodyJSON?["reason"]?.stringValue }
            #expect(reasons == ["StaleImageEvicted", "StaleImageEvictionStalled"])
            let stalled = try #require(h.events.last?.bodyJSON)
            #expect(stalled["type"]?.stringValue == "Warning" && stalled[path: ["regarding", "kind"]]?.stringValue == "ReplicaSet")
        }
    }

    @Test func disruptionBudgetRefusalIsRetriedWithinTheBoundThenTheNextPodFollows() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "ops/agent", tag: "2")
            let agent = Workload(kind: "DaemonSet", name: "agent", uid: "ds-uid", labels: ["app": "agent", "controller-revision-hash": "6b7f9"])
            try h.put(Fixtures.daemonSet(name: "agent", uid: agent.uid, image: h.image("ops/agent", "2"), strategy: "OnDelete", nodes: 2))
            let (stale, watched) = try Self.pods(
                h, of: agent, names: ["agent-1", "agent-2"], repository: "ops/agent", tag: "2", current: current,
                replacementNames: ["agent-x", "agent-y"])
            for pod in stale { try h.put(pod) }
            h.kube.blockEviction(namespace: "default", name: "agent-1")
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)
            // The budget allows a disruption again after a while (another pod became Ready elsewhere).
            let kube = h.kube
            let unblock = Task {
                try? await Task.sleep(for: .milliseconds(300))
                kube.unblockEviction(namespace: "default", name: "agent-1")
            }

            let report = try await h.sweep(SweepHarness.policy(evictionWait: .seconds(10)))
            await unblock.value
            await controller.stop(afterReplacing: 2)

            let evictions = h.writeSummary
            #expect(evictions.count >= 3, "retried: \(evictions)")
            #expect(evictions.dropLast().allSatisfy { $0 == "POST /api/v1/namespaces/default/pods/agent-1/eviction" })
            #expect(evictions.last == "POST /api/v1/namespaces/default/pods/agent-2/eviction")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "agent-1")) == "evicted")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "agent-2")) == "evicted")
            #expect(controller.presentAtReplacement["agent-1"] == ["agent-2"])
            #expect(Set(h.events.compactMap { $0.bodyJSON?[path: ["regarding", "kind"]]?.stringValue }) == ["DaemonSet"])
        }
    }

    @Test func disruptionBudgetThatNeverAllowsItIsReportedAndTheRestWait() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "data/db", tag: "16")
            let db = Workload(kind: "StatefulSet", name: "db", uid: "sts-uid", labels: ["app": "db"])
            try h.put(Fixtures.statefulSet(name: "db", uid: db.uid, image: h.image("data/db", "16"), strategy: "OnDelete", replicas: 2))
            let (stale, _) = try Self.pods(h, of: db, names: ["db-0", "db-1"], repository: "data/db", tag: "16", current: current)
            for pod in stale { try h.put(pod) }
            h.kube.blockEviction(namespace: "default", name: "db-0", pdb: "db-pdb")
            h.kube.clearRecordedCalls()

            let report = try await h.sweep(SweepHarness.policy(evictionWait: .milliseconds(300)))

            #expect(Set(h.writeSummary) == ["POST /api/v1/namespaces/default/pods/db-0/eviction"], "db-1 is never tried")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "db-0")) == "blocked by PodDisruptionBudget, retried next sweep")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "db-1"))
                == "waiting: eviction of default/db-0 is blocked by a PodDisruptionBudget; next sweep")
            let warning = try #require(h.events.first?.bodyJSON)
            #expect(h.events.count == 1)
            #expect(warning["reason"]?.stringValue == "StaleImageEvictionBlocked" && warning["type"]?.stringValue == "Warning")
            #expect(warning[path: ["regarding", "kind"]]?.stringValue == "StatefulSet")
            #expect(warning[path: ["related", "name"]]?.stringValue == "db-0")
        }
    }

    @Test func dryRunPlansEveryPacedEvictionAndWaitsForNothing() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "data/db", tag: "16")
            let db = Workload(kind: "StatefulSet", name: "db", uid: "sts-uid", labels: ["app": "db"])
            try h.put(Fixtures.statefulSet(name: "db", uid: db.uid, image: h.image("data/db", "16"), strategy: "OnDelete", replicas: 2))
            let (stale, _) = try Self.pods(h, of: db, names: ["db-0", "db-1"], repository: "data/db", tag: "16", current: current)
            for pod in stale { try h.put(pod) }
            h.kube.clearRecordedCalls()

            let started = ContinuousClock.now
            let report = try await h.sweep(SweepHarness.policy(dryRun: true, evictionWait: .seconds(30)))

            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(h.writes.isEmpty)
            #expect(report.actionText(for: PodKey(namespace: "default", name: "db-0")) == "would evict pod default/db-0")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "db-1")) == "would evict pod default/db-1")
            #expect(report.exitCode == 2)
        }
    }
}
