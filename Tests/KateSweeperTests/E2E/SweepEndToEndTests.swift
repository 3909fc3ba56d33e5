import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import KateRegistry
import RegistryTestSupport
import Testing

/// Sweeps against the test API server and a real loopback `docker-registry`; assertions are on the
/// API calls the server recorded.
@Suite("kate sweep end to end", .serialized)
struct SweepEndToEndTests {
    /// A digest the registry no longer serves: what a node still runs after the tag moved.
    static let gone = Fixtures.digest("9e")

    static func deploymentObjects(_ h: SweepHarness, name: String = "web", image: String, running: String, pods: Int = 5, paused: Bool = false) -> [[String: Any]] {
        let rsName = "\(name)-5d8f7c"
        var objects: [[String: Any]] = [
            Fixtures.deployment(name: name, uid: "\(name)-dep-uid", image: image, replicas: pods, paused: paused),
            Fixtures.replicaSet(name: rsName, uid: "\(name)-rs-uid", deployment: .init(kind: "Deployment", name: name, uid: "\(name)-dep-uid"), image: image, hash: "5d8f7c"),
        ]
        for index in 0..<pods {
            objects.append(Fixtures.pod(
                name: "\(rsName)-\(index)", owner: .init(kind: "ReplicaSet", name: rsName, uid: "\(name)-rs-uid"),
                labels: ["app": name, "pod-template-hash": "5d8f7c"],
                containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/team/\(name)@\(running)")]))
        }
        return objects
    }

    @Test func tagMovedRestartsTheDeploymentOnceForFivePods() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in Self.deploymentObjects(h, image: h.image("team/web", "1.4"), running: Self.gone) { try h.put(object) }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
            let patch = try #require(h.writes.first { $0.method == "PATCH" })
            #expect(patch.contentType?.hasPrefix("application/strategic-merge-patch+json") == true)
            #expect(patch.bodyText.contains("kubectl.kubernetes.io/restartedAt"))
            #expect(h.events.count == 1)
            let note = try #require(h.events.first).bodyText
            #expect(note.contains("StaleImageRestarted") && note.contains("running \(ImageDigest.short(Self.gone))") && note.contains("tag \(ImageDigest.short(current))"))
            #expect(report.stalePods == 5)
            #expect(Set(report.findings.map(\.judgement.verdict)) == [.tagMoved])
            #expect(report.exitCode == 0)
        }
    }

    @Test func sameSweepTwiceFindsTheRolloutInProgress() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in Self.deploymentObjects(h, image: h.image("team/web", "1.4"), running: Self.gone) { try h.put(object) }
            _ = try await h.sweep()
            // The API server bumps metadata.generation on a template change; no controller runs here,
            // so status.observedGeneration lags exactly as it does while a real rollout starts.
            let patched = try await h.client.getDeployment(namespace: "default", name: "web")
            #expect(patched.spec?.template?.metadata?.annotations?["kubectl.kubernetes.io/restartedAt"] != nil)
            #expect((patched.metadata.generation ?? 0) > (patched.status?.observedGeneration ?? 0))
            h.kube.clearRecordedCalls()

            let second = try await h.sweep()

            // Nothing but the Event saying why nothing was done.
            #expect(h.writeSummary.isEmpty)
            #expect(h.events.compactMap { $0.bodyJSON?["reason"]?.stringValue } == ["StaleImageHeld"])
            let action = second.actionText(for: PodKey(namespace: "default", name: "web-5d8f7c-0"))
            #expect(action.contains("rollout in progress"))
        }
    }

    @Test func nodeMismatchOnOneDaemonSetPod() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "ops/agent", tag: "2")
            let pinned = "\(h.image("ops/agent", "2"))@\(current)"
            try h.put(Fixtures.daemonSet(name: "agent", uid: "ds-uid", image: h.image("ops/agent", "2")))
            for node in 1...3 {
                try h.put(Fixtures.pod(
                    name: "agent-\(node)", owner: .init(kind: "DaemonSet", name: "agent", uid: "ds-uid"),
                    labels: ["controller-revision-hash": "6b7f9"],
                    containers: [.init(name: "agent", image: pinned, imageID: "\(h.registry.host)/ops/agent@\(node == 2 ? Self.gone : current)")],
                    node: "node-\(node)"))
            }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            let verdicts = Dictionary(uniqueKeysWithValues: report.findings.map { ($0.target.pod.name, $0.judgement.verdict) })
            #expect(verdicts == ["agent-1": .current, "agent-2": .nodeMismatch, "agent-3": .current])
            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/daemonsets/agent"])
        }
    }

    @Test func pausedDeploymentIsLeftAlone() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in Self.deploymentObjects(h, image: h.image("team/web", "1.4"), running: Self.gone, pods: 2, paused: true) { try h.put(object) }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(h.writeSummary.isEmpty)
            let held = try #require(h.events.first?.bodyJSON)
            #expect(h.events.count == 1 && held["reason"]?.stringValue == "StaleImageHeld")
            #expect(held["note"]?.stringValue?.contains("is paused") == true)
            #expect(report.stalePods == 2)
            #expect(report.actionText(for: PodKey(namespace: "default", name: "web-5d8f7c-0")).contains("paused"))
        }
    }

    @Test func jobPodsAreOnlyReported() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "batch/backup", tag: "nightly")
            try h.put(Fixtures.pod(
                name: "backup-29123-x7k2p", owner: .init(kind: "Job", name: "backup-29123", uid: "job-uid"),
                labels: ["batch.kubernetes.io/job-name": "backup-29123"],
                containers: [.init(name: "backup", image: h.image("batch/backup", "nightly"), imageID: "\(h.registry.host)/batch/backup@\(Self.gone)")]))
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(h.writes.isEmpty)
            #expect(report.stalePods == 1)
            #expect(report.actionText(for: PodKey(namespace: "default", name: "backup-29123-x7k2p")).contains("Job pods are reported only"))
        }
    }

    @Test(arguments: [ActionPolicy(action: .rollout, dryRun: true), ActionPolicy(action: .report)])
    func dryRunAndReportMakeZeroWrites(_ policy: ActionPolicy) async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in Self.deploymentObjects(h, image: h.image("team/web", "1.4"), running: Self.gone) { try h.put(object) }
            try h.put(Fixtures.pod(name: "lonely", containers: [.init(name: "app", image: h.image("team/web", "1.4"), imageID: "\(h.registry.host)/team/web@\(Self.gone)")]))
            h.kube.clearRecordedCalls()

            let report = try await h.sweep(policy)

            #expect(h.writes.isEmpty, "recorded writes: \(h.writes.map { "\($0.method) \($0.path)" })")
            #expect(!h.kube.recordedCalls.isEmpty, "the sweep did read the cluster")
            #expect(report.stalePods == 6)
            #expect(report.exitCode == 2)
        }
    }

    @Test func disruptionBudgetBlocksTheEvictionUntilANextSweep() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            try h.put(Fixtures.pod(name: "lonely", containers: [.init(name: "app", image: h.image("team/web", "1.4"), imageID: "\(h.registry.host)/team/web@\(Self.gone)")]))
            h.kube.blockEviction(namespace: "default", name: "lonely")
            h.kube.clearRecordedCalls()

            let started = ContinuousClock.now
            let first = try await h.sweep(SweepHarness.policy(evictionWait: .milliseconds(400)))
            let waited = ContinuousClock.now - started
            #expect(first.actionText(for: PodKey(namespace: "default", name: "lonely")) == "blocked by PodDisruptionBudget, retried next sweep")
            // Retried every 50 ms while --eviction-wait (400 ms here) lasted, then reported.
            #expect(Set(h.writeSummary) == ["POST /api/v1/namespaces/default/pods/lonely/eviction"])
            #expect(h.writeSummary.count >= 3, "\(h.writeSummary.count) attempts")
            #expect(waited >= .milliseconds(400))
            #expect(h.events.isEmpty)

            h.kube.unblockEviction(namespace: "default", name: "lonely")
            h.kube.clearRecordedCalls()
            let second = try await h.sweep()
            #expect(second.actionText(for: PodKey(namespace: "default", name: "lonely")) == "evicted")
            #expect(h.writeSummary == ["POST /api/v1/namespaces/default/pods/lonely/eviction"])
            #expect(h.events.count == 1)
        }
    }

    @Test func deleteModeDeletesStalePodsWithAUIDPrecondition() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in Self.deploymentObjects(h, image: h.image("team/web", "1.4"), running: Self.gone, pods: 2) { try h.put(object) }
            h.kube.clearRecordedCalls()

            _ = try await h.sweep(ActionPolicy(action: .delete))

            #expect(h.writeSummary == [
                "DELETE /api/v1/namespaces/default/pods/web-5d8f7c-0", "DELETE /api/v1/namespaces/default/pods/web-5d8f7c-1",
            ])
            #expect(h.writes.first { $0.method == "DELETE" }?.bodyText.contains(#""uid":"uid-default-web-5d8f7c-0""#) == true)
        }
    }

    @Test func dockerContainerdAndCrioImageIDForms() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/api", tag: "3")
            let forms = [
                "docker": "docker-pullable://\(h.registry.host)/team/api@\(current)",
                "containerd": "\(h.registry.host)/team/api@\(current)",
                "crio": "\(h.registry.host)/team/api@\(current)",
                "docker-local": "docker://\(Fixtures.digest("cf"))",
                "config-id": Fixtures.digest("cf"),
            ]
            for (runtime, imageID) in forms {
                try h.put(Fixtures.pod(name: "api-\(runtime)", containers: [.init(name: "api", image: h.image("team/api", "3"), imageID: imageID)]))
            }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            let verdicts = Dictionary(uniqueKeysWithValues: report.findings.map { ($0.target.pod.name, $0.judgement.verdict) })
            #expect(verdicts == [
                "api-docker": .current, "api-containerd": .current, "api-crio": .current,
                "api-docker-local": .unknown, "api-config-id": .unknown,
            ])
            #expect(h.writes.isEmpty)
        }
    }

    @Test func multiArchNodeReportingAPlatformDigestIsCurrent() async throws {
        try await SweepHarness.run { h in
            let pushed = try await h.registry.pushIndex(repository: "team/multi", tag: "1", platforms: ["linux/amd64", "linux/arm64"])
            let arm = try #require(pushed.children.last)
            try h.put(Fixtures.pod(
                name: "multi-arm", containers: [.init(name: "app", image: "\(h.image("team/multi", "1"))@\(pushed.index)", imageID: "\(h.registry.host)/team/multi@\(arm)")],
                node: "arm-node"))
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(report.findings.map(\.judgement.verdict) == [.current])
            #expect(report.findings.first?.judgement.currentDigest == pushed.index)
            #expect(h.writes.isEmpty)
        }
    }
}

@Suite("kate sweep when the registry fails", .serialized)
struct SweepRegistryFailureTests {
    @Test func registry500MeansUnknownAndNoWrite() async throws {
        try await SweepHarness.run { h in
            let failing = try await ScriptedHTTPServer.start { _, _, _ in
                ScriptedHTTPServer.Reply(status: 500, headers: [("Content-Type", "text/plain")], body: Array("internal error".utf8))
            }
            let resolver = Resolver(configuration: SweepHarness.resolverConfiguration(plainHTTP: [failing.host]), logger: h.logger)
            do {
                for object in SweepEndToEndTests.deploymentObjects(h, image: "\(failing.host)/team/web:1.4", running: SweepEndToEndTests.gone) {
                    try h.put(object)
                }
                h.kube.clearRecordedCalls()

                let report = try await h.sweep(resolver: resolver)

                #expect(!failing.requests.isEmpty, "the registry was asked")
                #expect(Set(report.findings.map(\.judgement.verdict)) == [.unknown])
                #expect(report.resolveErrors == 1)
                #expect(report.findings.first?.judgement.reason?.contains("500") == true, "\(report.findings.first?.judgement.reason ?? "")")
                #expect(h.writes.isEmpty)
                #expect(report.exitCode == 0)
            } catch {
                await resolver.shutdown()
                await failing.stop()
                throw error
            }
            await resolver.shutdown()
            await failing.stop()
        }
    }
}
