import Foundation
import KateKube
import KateNet
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

/// Rollouts that verify themselves, against the test API server (managedFields kept as the
/// apiserver keeps them; proven by tests/clients/test_managed_fields.py): a restart another field
/// manager reverts is reported `restart-reverted`, named in a Warning Event, and replaced by paced
/// evictions; Argo Rollouts restart through `spec.restartAt`; one owner rolls once however many of
/// its tags moved; Events are one per owner and reason, counted up.
@Suite("kate sweep rollouts that verify themselves", .serialized)
struct RestartVerificationTests {
    static let gone = SweepEndToEndTests.gone
    static let reverter = "gardener-resource-manager"
    static let restartedAtPath = ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]

    /// A Deployment `web` whose pod template `gardener-resource-manager` owns (it wrote a template
    /// label through the API, as a resource manager reconciling it would), caught up by its
    /// controller, with `pods` stale pods and, for each, a replacement on `current` once evicted.
    static func managedDeployment(_ h: SweepHarness, pods: Int, current: String) async throws -> [PlayedController.Watched] {
        let image = h.image("team/web", "1.4")
        for object in SweepEndToEndTests.deploymentObjects(h, image: image, running: gone, pods: pods) { try h.put(object) }
        try await withClient(h, manager: reverter) { gardener in
            try await gardener.patch(
                .deployment, namespace: "default", name: "web", body: Array(#"{"spec":{"template":{"metadata":{"labels":{"resources.gardener.cloud/managed":"true"}}}}}"#.utf8),
                contentType: .merge)
        }
        try catchUp(h)
        return try (0..<pods).map { index in
            let name = "web-5d8f7c-\(index)"
            let replacement = Fixtures.pod(
                name: name, uid: "replacement-\(name)", owner: .init(kind: "ReplicaSet", name: "web-5d8f7c", uid: "web-rs-uid"),
                labels: ["app": "web", "pod-template-hash": "5d8f7c"],
                containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/team/web@\(current)")])
            return PlayedController.Watched(namespace: "default", name: name, uid: "uid-default-\(name)", replacement: try Fixtures.bytes(replacement))
        }
    }

    /// The Deployment controller's part: it observed the latest generation and updated every pod.
    static func catchUp(_ h: SweepHarness) throws {
        try h.kube.modify(.deployments, namespace: "default", name: "web") { object in
            let generation = object[path: ["metadata", "generation"]] ?? .int(1)
            object[path: ["status", "observedGeneration"]] = generation
            object[path: ["status", "updatedReplicas"]] = object[path: ["spec", "replicas"]] ?? .int(1)
        }
    }

    /// What gardener#8463 and Reloader#972 describe: another manager puts the template back without kate's restartedAt.
    static func revert(_ h: SweepHarness) async throws {
        try await withClient(h, manager: reverter) { gardener in
            try await gardener.patch(
                .deployment, namespace: "default", name: "web",
                body: Array(#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":null}}}}}"#.utf8), contentType: .merge)
        }
        try catchUp(h)
    }

    static func withClient(_ h: SweepHarness, manager: String, _ body: (KubeClient) async throws -> Void) async throws {
        let client = KubeClient(configuration: h.kube.clientConfiguration, fieldManager: manager, logger: h.logger)
        do {
            try await body(client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// kate's own writes (the reverting manager's are recorded too), without Events.
    static func kateWrites(_ h: SweepHarness) -> [String] {
        h.writes.filter { $0.queryValue("fieldManager") != reverter && !$0.path.contains("/events") }.map { "\($0.method) \($0.path)" }
    }

    /// Points `to` at the manifest `from` names, with curl (distribution has no retag call): two tags, one digest.
    static func retag(_ h: SweepHarness, repository: String, from: String, to: String) throws {
        let manifest = FileManager.default.temporaryDirectory.appendingPathComponent("kate-retag-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: manifest) }
        let type = "application/vnd.docker.distribution.manifest.v2+json"
        for arguments in [
            ["-fsS", "-H", "Accept: \(type)", "-o", manifest, "\(h.registry.baseURL)/v2/\(repository)/manifests/\(from)"],
            ["-fsS", "-X", "PUT", "-H", "Content-Type: \(type)", "--data-binary", "@\(manifest)", "\(h.registry.baseURL)/v2/\(repository)/manifests/\(to)"],
        ] {
            let curl = try ChildProcessRunner.runBlocking(executable: "/usr/bin/curl", arguments: arguments, timeout: .seconds(30))
            guard curl.status == 0 else { throw CocoaError(.fileReadUnknown) }
        }
    }

    static func reasons(_ h: SweepHarness) -> [String] {
        h.events.filter { $0.method == "POST" }.compactMap { $0.bodyJSON?["reason"]?.stringValue }
    }

    @Test func aRestartRevertedByAnotherFieldManagerIsReportedNamedAndReplacedByPacedEvictions() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/web", tag: "1.4")
            let watched = try await Self.managedDeployment(h, pods: 2, current: current)
            h.kube.clearRecordedCalls()

            // Sweep 1 restarts, and records what it wrote in the same patch.
            _ = try await h.sweep()
            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
            let restarted = try #require(h.kube.object(.deployments, namespace: "default", name: "web"))
            let written = try #require(restarted[path: Self.restartedAtPath]?.stringValue)
            #expect(restarted[path: ["metadata", "annotations", "kate.dev/restart"]]?.stringValue == "\(written) generation=4")

            try await Self.revert(h)
            #expect(h.kube.object(.deployments, namespace: "default", name: "web")?[path: Self.restartedAtPath] == nil)
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)

            // Sweep 2 sees the revert: no second restart (it would be reverted again), paced evictions instead.
            let report = try await h.sweep(SweepHarness.policy(evictionWait: .seconds(10)))
            await controller.stop(afterReplacing: 2)

            #expect(h.writeSummary == ["web-5d8f7c-0", "web-5d8f7c-1"].map { "POST /api/v1/namespaces/default/pods/\($0)/eviction" })
            #expect(controller.presentAtReplacement["web-5d8f7c-0"] == ["web-5d8f7c-1"], "the second pod waited for the first one's replacement")
            for name in ["web-5d8f7c-0", "web-5d8f7c-1"] {
                let pod = PodKey(namespace: "default", name: name)
                #expect(report.podVerdicts[pod] == .restartReverted)
                #expect(report.actionText(for: pod) == "evicted")
            }
            let reason = try #require(report.findings.first { $0.judgement.verdict == .restartReverted }?.judgement.reason)
            #expect(reason.contains(written) && reason.contains(Self.reverter), "\(reason)")
            // A Warning naming the manager, and one eviction Event counted up for the second pod.
            #expect(Self.reasons(h).sorted() == ["RestartReverted", "StaleImageEvicted"])
            let warning = try #require(h.events.first { $0.bodyJSON?["reason"]?.stringValue == "RestartReverted" }?.bodyJSON)
            #expect(warning["type"]?.stringValue == "Warning" && warning[path: ["regarding", "kind"]]?.stringValue == "Deployment")
            #expect(warning["note"]?.stringValue?.contains("field manager \(Self.reverter)") == true, "\(warning["note"]?.stringValue ?? "")")
            let series = h.events.filter { $0.method == "PATCH" }.compactMap { $0.bodyJSON?[path: ["series", "count"]]?.intValue }
            #expect(series == [2])
        }
    }

    @Test func withWaitTheSameSweepSeesTheRevertAndEvicts() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/web", tag: "1.4")
            let watched = try await Self.managedDeployment(h, pods: 2, current: current)
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)
            // The reverting manager, reacting to the restart as soon as it lands.
            let kube = h.kube
            let reverting = Task {
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while ContinuousClock.now < deadline {
                    if kube.object(.deployments, namespace: "default", name: "web")?[path: Self.restartedAtPath] != nil {
                        try await Self.revert(h)
                        return true
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return false
            }

            var policy = SweepHarness.policy(evictionWait: .seconds(10))
            policy.restartWait = .seconds(5)
            let report = try await h.sweep(policy)
            #expect(try await reverting.value)
            await controller.stop(afterReplacing: 2)

            #expect(Self.kateWrites(h) == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"]
                + ["web-5d8f7c-0", "web-5d8f7c-1"].map { "POST /api/v1/namespaces/default/pods/\($0)/eviction" })
            let restart = try #require(report.results.first { if case .rolloutRestart = $0.action.operation { true } else { false } })
            guard case .reverted(let reversion) = restart.verification else {
                Issue.record("expected a reverted restart, got \(String(describing: restart.verification))")
                return
            }
            #expect(reversion.manager == Self.reverter)
            #expect(restart.text.contains("restart-reverted by \(Self.reverter)"))
            #expect(report.podVerdicts[PodKey(namespace: "default", name: "web-5d8f7c-1")] == .restartReverted)
            #expect(Self.reasons(h).sorted() == ["RestartReverted", "StaleImageEvicted", "StaleImageRestarted"])
        }
    }

    @Test func withWaitARestartTheControllerRollsOutIsVerified() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/web", tag: "1.4")
            _ = try await Self.managedDeployment(h, pods: 2, current: current)
            let kube = h.kube
            let rolling = Task {
                let deadline = ContinuousClock.now.advanced(by: .seconds(10))
                while ContinuousClock.now < deadline {
                    if kube.object(.deployments, namespace: "default", name: "web")?[path: Self.restartedAtPath] != nil {
                        try Self.catchUp(h)
                        return true
                    }
                    try await Task.sleep(for: .milliseconds(5))
                }
                return false
            }
            var policy = SweepHarness.policy()
            policy.restartWait = .seconds(5)
            let report = try await h.sweep(policy)
            #expect(try await rolling.value)
            #expect(Self.kateWrites(h) == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
            #expect(report.actionText(for: PodKey(namespace: "default", name: "web-5d8f7c-0")) == "restarted Deployment/web; verified")
            #expect(report.podVerdicts[PodKey(namespace: "default", name: "web-5d8f7c-0")] == .tagMoved)
        }
    }

    @Test func withWaitARestartStillRollingIsLeftToTheNextSweep() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/web", tag: "1.4")
            _ = try await Self.managedDeployment(h, pods: 1, current: current)
            var policy = SweepHarness.policy()
            policy.restartWait = .milliseconds(300)
            let started = ContinuousClock.now
            let report = try await h.sweep(policy)
            #expect(ContinuousClock.now - started < .seconds(5))
            let text = report.actionText(for: PodKey(namespace: "default", name: "web-5d8f7c-0"))
            #expect(text.hasPrefix("restarted Deployment/web; not verified within --wait (controller has not observed the restart yet"), "\(text)")
        }
    }

    @Test func anArgoRolloutIsRestartedThroughSpecRestartAtWithACanaryWarning() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/shop", tag: "3")
            let image = h.image("team/shop", "3")
            try h.put(
                [
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                    "metadata": ["name": "shop", "namespace": "default", "uid": "rollout-uid", "generation": 2],
                    "spec": [
                        "replicas": 2, "selector": ["matchLabels": ["app": "shop"]], "template": Fixtures.template([("app", image)], labels: ["app": "shop"]),
                        "strategy": ["canary": ["steps": [["setWeight": 20], ["pause": [String: Any]()]]]],
                    ],
                    "status": ["observedGeneration": "2", "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2],
                ],
                [
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": [
                        "name": "shop-6f9c", "namespace": "default", "uid": "shop-rs-uid", "generation": 1, "labels": ["rollouts-pod-template-hash": "6f9c"],
                        "ownerReferences": [["apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "shop", "uid": "rollout-uid", "controller": true]],
                    ],
                    "spec": ["replicas": 2, "selector": ["matchLabels": ["rollouts-pod-template-hash": "6f9c"]], "template": Fixtures.template([("app", image)], labels: ["app": "shop"])],
                    "status": ["replicas": 2, "observedGeneration": 1],
                ])
            for index in 0..<2 {
                try h.put(Fixtures.pod(
                    name: "shop-6f9c-\(index)", owner: .init(kind: "ReplicaSet", name: "shop-6f9c", uid: "shop-rs-uid"), labels: ["app": "shop"],
                    containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/team/shop@\(Self.gone)")]))
            }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(h.writeSummary == ["PATCH /apis/argoproj.io/v1alpha1/namespaces/default/rollouts/shop"])
            let patch = try #require(h.writes.first { $0.method == "PATCH" && !$0.path.contains("/events") })
            #expect(patch.contentType == "application/merge-patch+json")
            let rollout = try #require(h.kube.object(.rollouts, namespace: "default", name: "shop"))
            let restartAt = try #require(rollout[path: ["spec", "restartAt"]]?.stringValue)
            #expect(rollout[path: ["metadata", "annotations", "kate.dev/restart"]]?.stringValue == "\(restartAt) generation=2")
            #expect(rollout[path: ["spec", "template", "metadata", "annotations"]] == nil, "the template is not touched")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "shop-6f9c-0")) == "restarted Rollout/shop")
            #expect(report.warnings.contains { $0.contains("Rollout default/shop") && $0.contains("without the canary steps") })
            let event = try #require(h.events.first?.bodyJSON)
            #expect(event[path: ["regarding", "apiVersion"]]?.stringValue == "argoproj.io/v1alpha1" && event[path: ["regarding", "kind"]]?.stringValue == "Rollout")
            #expect(event["note"]?.stringValue?.contains("canary steps are skipped") == true)
            #expect(event["note"]?.stringValue?.contains("tag \(ImageDigest.short(current))") == true)
        }
    }

    @Test func severalTagsMovingInOneOwnerRollItOnce() async throws {
        try await SweepHarness.run { h in
            // Two tags of one repository moving to one new digest, and a second repository's tag moving too.
            let web = try await h.registry.push(repository: "team/web", tag: "1.4")
            try Self.retag(h, repository: "team/web", from: "1.4", to: "latest")
            let proxy = try await h.registry.push(repository: "team/proxy", tag: "2")
            let containers = [("app", h.image("team/web", "1.4")), ("worker", h.image("team/web", "latest")), ("proxy", h.image("team/proxy", "2"))]
            var deployment = Fixtures.deployment(name: "web", uid: "web-dep-uid", image: containers[0].1, replicas: 2)
            var spec = try #require(deployment["spec"] as? [String: Any])
            spec["template"] = Fixtures.template(containers, labels: ["app": "web"])
            deployment["spec"] = spec
            try h.put(
                deployment,
                Fixtures.replicaSet(name: "web-5d8f7c", uid: "web-rs-uid", deployment: .init(kind: "Deployment", name: "web", uid: "web-dep-uid"), image: containers[0].1, hash: "5d8f7c"))
            for index in 0..<2 {
                try h.put(Fixtures.pod(
                    name: "web-5d8f7c-\(index)", owner: .init(kind: "ReplicaSet", name: "web-5d8f7c", uid: "web-rs-uid"), labels: ["app": "web"],
                    containers: [
                        .init(name: "app", image: containers[0].1, imageID: "\(h.registry.host)/team/web@\(Self.gone)"),
                        .init(name: "worker", image: containers[1].1, imageID: "\(h.registry.host)/team/web@\(Self.gone)"),
                        .init(name: "proxy", image: containers[2].1, imageID: "\(h.registry.host)/team/proxy@\(Self.gone)"),
                    ]))
            }
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            #expect(h.writeSummary == ["PATCH /apis/apps/v1/namespaces/default/deployments/web"])
            #expect(report.findings.filter { $0.judgement.verdict == .tagMoved }.count == 6)
            // One Event for the one roll, naming each moved container once with its new digest.
            #expect(h.events.count == 1)
            let note = try #require(h.events.first?.bodyJSON?["note"]?.stringValue)
            for (name, digest) in [("app", web), ("worker", web), ("proxy", proxy)] {
                #expect(note.contains("container \(name) ") && note.contains("tag \(ImageDigest.short(digest))"), "\(note)")
            }
            #expect(note.contains("(2 pods: web-5d8f7c-0, web-5d8f7c-1)"))
        }
    }

    @Test func twoStalePodsOfABareReplicaSetMakeOneEventWithCountTwo() async throws {
        try await SweepHarness.run { h in
            let current = try await h.registry.push(repository: "team/legacy", tag: "3")
            let image = h.image("team/legacy", "3")
            try h.put(Fixtures.replicaSet(name: "legacy", uid: "legacy-rs-uid", deployment: nil, image: image, hash: "legacy"))
            var watched: [PlayedController.Watched] = []
            for name in ["legacy-a", "legacy-b"] {
                let owner = Fixtures.Owner(kind: "ReplicaSet", name: "legacy", uid: "legacy-rs-uid")
                try h.put(Fixtures.pod(name: name, owner: owner, labels: ["pod-template-hash": "legacy"], containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/team/legacy@\(Self.gone)")]))
                let replacement = Fixtures.pod(
                    name: name + "-new", uid: "new-\(name)", owner: owner, labels: ["pod-template-hash": "legacy"],
                    containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/team/legacy@\(current)")])
                watched.append(.init(namespace: "default", name: name, uid: "uid-default-\(name)", replacement: try Fixtures.bytes(replacement)))
            }
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: watched)
            _ = try await h.sweep(SweepHarness.policy(evictionWait: .seconds(10)))
            await controller.stop(afterReplacing: 2)

            #expect(h.events.map(\.method) == ["POST", "PATCH"])
            let name = try #require(h.events.first?.bodyJSON?[path: ["metadata", "name"]]?.stringValue)
            // What `kubectl describe` reads: the core v1 twin, counted twice, its message covering both pods.
            let stored = try #require(h.kube.object(.coreEvents, namespace: "default", name: name))
            #expect(stored[path: ["series", "count"]]?.intValue == 2)
            #expect(stored[path: ["involvedObject", "kind"]]?.stringValue == "ReplicaSet")
            #expect(stored["message"]?.stringValue?.hasPrefix("kate sweep: evicted (2 pods: legacy-a, legacy-b): container app ") == true)
            #expect(h.kube.objects(.coreEvents, namespace: "default").count == 1)
        }
    }
}
