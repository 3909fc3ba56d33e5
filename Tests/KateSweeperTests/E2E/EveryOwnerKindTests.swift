import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

/// Stale pods under owners of every kind in one sweep, behind a private registry with a pull secret
/// per namespace: the sweep that crashed every time in release (issue 12). Nine first-level owners
/// (more than `kubeConcurrency`), so `OwnerDirectory` and the pull-secret keychain fetch concurrently, in
/// `BoundedParallel`'s task group: the code Swift 6.3.1 -O miscompiled. scripts/test.sh runs this
/// suite in release too.
@Suite("kate sweep with stale pods of every owner kind", .serialized)
struct EveryOwnerKindTests {
    static let gone = SweepEndToEndTests.gone
    static let user = "robot"
    static let password = "pull-only"

    struct Fleet {
        var objects: [[String: Any]] = []
        /// Pods a workload controller replaces after an eviction.
        var watched: [PlayedController.Watched] = []
        /// Pod → ACTION text in `--action report` (and `--dry-run`), and after a real rollout sweep.
        var planned: [PodKey: String] = [:]
        var acted: [PodKey: String] = [:]
        var current: Set<PodKey> = []
    }

    static func fleet(_ h: SweepHarness, current: String) throws -> Fleet {
        var fleet = Fleet()
        let image = h.image("private/app", "1")
        func pod(
            _ namespace: String, _ name: String, uid: String? = nil, owner: Fixtures.Owner?, labels: [String: String] = [:], running: String = gone
        ) -> [String: Any] {
            Fixtures.pod(
                namespace: namespace, name: name, uid: uid, owner: owner, labels: labels,
                containers: [.init(name: "app", image: image, imageID: "\(h.registry.host)/private/app@\(running)")], pullSecrets: ["regcred"])
        }
        func stale(_ namespace: String, _ name: String, owner: Fixtures.Owner?, labels: [String: String] = [:], planned: String, acted: String) {
            fleet.objects.append(pod(namespace, name, owner: owner, labels: labels))
            fleet.planned[PodKey(namespace: namespace, name: name)] = planned
            fleet.acted[PodKey(namespace: namespace, name: name)] = acted
        }
        func replaced(_ namespace: String, _ name: String, by replacement: String, owner: Fixtures.Owner, labels: [String: String]) throws {
            let bytes = try Fixtures.bytes(pod(namespace, replacement, uid: "new-\(namespace)-\(replacement)", owner: owner, labels: labels, running: current))
            fleet.watched.append(.init(namespace: namespace, name: name, uid: "uid-\(namespace)-\(name)", replacement: bytes))
        }

        for namespace in ["ns-a", "ns-b", "ns-c"] {
            fleet.objects.append(try secret(h, namespace: namespace))
            // Deployment → ReplicaSet → 2 pods: one restart of the Deployment.
            let rs = Fixtures.Owner(kind: "ReplicaSet", name: "web-5d8f7c", uid: "\(namespace)-web-rs")
            fleet.objects.append(Fixtures.deployment(namespace: namespace, name: "web", uid: "\(namespace)-web", image: image, replicas: 2))
            fleet.objects.append(Fixtures.replicaSet(
                namespace: namespace, name: rs.name, uid: rs.uid, deployment: .init(kind: "Deployment", name: "web", uid: "\(namespace)-web"),
                image: image, hash: "5d8f7c"))
            for index in 0..<2 {
                stale(namespace, "web-5d8f7c-\(index)", owner: rs, labels: ["app": "web", "pod-template-hash": "5d8f7c"],
                      planned: "would restart Deployment/web", acted: "restarted Deployment/web")
            }
        }
        // ns-a: a RollingUpdate StatefulSet (restart), an OnDelete DaemonSet (paced evictions), a Job's pod (report only).
        fleet.objects.append(Fixtures.statefulSet(namespace: "ns-a", name: "db", uid: "db-uid", image: image))
        let db = Fixtures.Owner(kind: "StatefulSet", name: "db", uid: "db-uid")
        for index in 0..<2 {
            stale("ns-a", "db-\(index)", owner: db, labels: ["app": "db"], planned: "would restart StatefulSet/db", acted: "restarted StatefulSet/db")
        }
        fleet.objects.append(Fixtures.daemonSet(namespace: "ns-a", name: "logs", uid: "logs-uid", image: image, strategy: "OnDelete", nodes: 2))
        let logs = Fixtures.Owner(kind: "DaemonSet", name: "logs", uid: "logs-uid")
        for index in 0..<2 {
            stale("ns-a", "logs-\(index)", owner: logs, labels: ["app": "logs"], planned: "would evict pod ns-a/logs-\(index)", acted: "evicted")
            try replaced("ns-a", "logs-\(index)", by: "logs-new\(index)", owner: logs, labels: ["app": "logs"])
        }
        let jobText = "Job pods are reported only; the next run pulls the tag again"
        stale("ns-a", "backup-29123-x7k2p", owner: .init(kind: "Job", name: "backup-29123", uid: "job-uid"), planned: jobText, acted: jobText)
        // ns-b: an OnDelete StatefulSet and a ReplicaSet without Deployment (paced evictions), a current pod.
        fleet.objects.append(Fixtures.statefulSet(namespace: "ns-b", name: "ledger", uid: "ledger-uid", image: image, strategy: "OnDelete"))
        let ledger = Fixtures.Owner(kind: "StatefulSet", name: "ledger", uid: "ledger-uid")
        for index in 0..<2 {
            stale("ns-b", "ledger-\(index)", owner: ledger, labels: ["app": "ledger"], planned: "would evict pod ns-b/ledger-\(index)", acted: "evicted")
            try replaced("ns-b", "ledger-\(index)", by: "ledger-\(index)", owner: ledger, labels: ["app": "ledger"])
        }
        fleet.objects.append(Fixtures.replicaSet(namespace: "ns-b", name: "legacy", uid: "legacy-uid", deployment: nil, image: image, hash: "legacy"))
        let legacy = Fixtures.Owner(kind: "ReplicaSet", name: "legacy", uid: "legacy-uid")
        for index in 0..<2 {
            let labels = ["pod-template-hash": "legacy"]
            stale("ns-b", "legacy-\(index)", owner: legacy, labels: labels, planned: "would evict pod ns-b/legacy-\(index)", acted: "evicted")
            try replaced("ns-b", "legacy-\(index)", by: "legacy-new\(index)", owner: legacy, labels: labels)
        }
        fleet.objects.append(pod("ns-b", "fresh", owner: nil, running: current))
        fleet.current.insert(PodKey(namespace: "ns-b", name: "fresh"))
        // ns-c: a RollingUpdate DaemonSet (restart), a bare pod (evicted, nothing to wait for), a pod whose ReplicaSet is gone.
        fleet.objects.append(Fixtures.daemonSet(namespace: "ns-c", name: "agent", uid: "agent-uid", image: image, nodes: 2))
        let agent = Fixtures.Owner(kind: "DaemonSet", name: "agent", uid: "agent-uid")
        for index in 0..<2 {
            stale("ns-c", "agent-\(index)", owner: agent, labels: ["app": "agent"], planned: "would restart DaemonSet/agent", acted: "restarted DaemonSet/agent")
        }
        stale("ns-c", "lonely", owner: nil, planned: "would evict pod ns-c/lonely", acted: "evicted")
        let orphanText = "ReplicaSet ns-c/gone-rs no longer exists"
        stale("ns-c", "gone-rs-0", owner: .init(kind: "ReplicaSet", name: "gone-rs", uid: "gone-uid"), planned: orphanText, acted: orphanText)
        return fleet
    }

    static func secret(_ h: SweepHarness, namespace: String) throws -> [String: Any] {
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        let config = #"{"auths":{"\#(h.registry.host)":{"auth":"\#(auth)"}}}"#
        return [
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": ["name": "regcred", "namespace": namespace, "uid": "secret-\(namespace)"],
            "data": [".dockerconfigjson": Data(config.utf8).base64EncodedString()],
        ]
    }

    /// The owners the sweep must read, each exactly once.
    static let ownerPaths = ["ns-a", "ns-b", "ns-c"].flatMap { namespace in
        ["/apis/apps/v1/namespaces/\(namespace)/replicasets/web-5d8f7c", "/apis/apps/v1/namespaces/\(namespace)/deployments/web"]
    } + [
        "/apis/apps/v1/namespaces/ns-a/statefulsets/db", "/apis/apps/v1/namespaces/ns-a/daemonsets/logs",
        "/apis/apps/v1/namespaces/ns-b/statefulsets/ledger", "/apis/apps/v1/namespaces/ns-b/replicasets/legacy",
        "/apis/apps/v1/namespaces/ns-c/daemonsets/agent", "/apis/apps/v1/namespaces/ns-c/replicasets/gone-rs",
    ]

    static func expectEveryPod(_ report: SweepReport, _ expected: [PodKey: String], current: Set<PodKey>) {
        let rows = ReportRow.rows(of: report)
        #expect(report.podCount == expected.count + current.count)
        #expect(Set(rows.map { PodKey(namespace: $0.namespace, name: $0.pod) }) == Set(expected.keys).union(current), "a pod is missing from the report")
        for (pod, text) in expected { #expect(report.actionText(for: pod) == text, "\(pod)") }
        for row in rows {
            let pod = PodKey(namespace: row.namespace, name: row.pod)
            #expect(row.verdict == (current.contains(pod) ? .current : .tagMoved), "\(pod): \(row.verdict) \(row.reason ?? "")")
        }
        #expect(report.resolveErrors == 0)
    }

    @Test(arguments: [SweepHarness.policy(.report), SweepHarness.policy(dryRun: true)])
    func reportAndDryRunPlanForEveryOwnerKindAndWriteNothing(_ policy: ActionPolicy) async throws {
        try await SweepHarness.run(registry: .basicAuthTLS(user: Self.user, password: Self.password)) { h in
            let current = try await h.registry.push(repository: "private/app", tag: "1")
            let fleet = try Self.fleet(h, current: current)
            for object in fleet.objects { try h.put(object) }
            // The same sweep three times: the miscompile garbled results on every release run.
            for _ in 0..<3 {
                h.kube.clearRecordedCalls()
                let report = try await h.sweep(policy, kubeConcurrency: 4)
                Self.expectEveryPod(report, fleet.planned, current: fleet.current)
                #expect(report.exitCode == 2)
                #expect(h.writes.isEmpty, "\(h.writeSummary)")
                let gets = h.kube.recordedCalls.filter { $0.method == "GET" }.map(\.path)
                for path in Self.ownerPaths { #expect(gets.filter { $0 == path }.count == 1, "\(path) read \(gets.filter { $0 == path }.count) times") }
                #expect(!gets.contains { $0.contains("/jobs/") }, "Job pods need no Job object")
                for namespace in ["ns-a", "ns-b", "ns-c"] {
                    #expect(gets.filter { $0 == "/api/v1/namespaces/\(namespace)/secrets/regcred" }.count == 1)
                }
            }
        }
    }

    @Test func rolloutActsOnEveryOwnerKindOnce() async throws {
        try await SweepHarness.run(registry: .basicAuthTLS(user: Self.user, password: Self.password)) { h in
            let current = try await h.registry.push(repository: "private/app", tag: "1")
            let fleet = try Self.fleet(h, current: current)
            for object in fleet.objects { try h.put(object) }
            h.kube.clearRecordedCalls()
            let controller = PlayedController(kube: h.kube, watching: fleet.watched, delay: .milliseconds(50))

            let report = try await h.sweep(SweepHarness.policy(evictionWait: .seconds(10)), kubeConcurrency: 4)
            await controller.stop(afterReplacing: fleet.watched.count)

            Self.expectEveryPod(report, fleet.acted, current: fleet.current)
            #expect(report.exitCode == 0)
            let patches = ["ns-a", "ns-b", "ns-c"].map { "PATCH /apis/apps/v1/namespaces/\($0)/deployments/web" } + [
                "PATCH /apis/apps/v1/namespaces/ns-a/statefulsets/db", "PATCH /apis/apps/v1/namespaces/ns-c/daemonsets/agent",
            ]
            let evictions = ["ns-a/logs-0", "ns-a/logs-1", "ns-b/ledger-0", "ns-b/ledger-1", "ns-b/legacy-0", "ns-b/legacy-1", "ns-c/lonely"].map {
                let parts = $0.split(separator: "/")
                return "POST /api/v1/namespaces/\(parts[0])/pods/\(parts[1])/eviction"
            }
            #expect(h.writeSummary.sorted() == (patches + evictions).sorted())
            #expect(Set(controller.replaced) == Set(fleet.watched.map(\.name)))
            // Paced: within each workload the second pod was still there when the first was replaced.
            for first in ["logs-0", "ledger-0", "legacy-0"] {
                let second = first.replacingOccurrences(of: "-0", with: "-1")
                #expect(controller.presentAtReplacement[first]?.contains(second) == true, "\(first): \(controller.presentAtReplacement)")
            }
            // One Event per owner and reason, about the workload (the bare pod's about the pod); a paced
            // owner's second eviction counts its Event up (a series PATCH) instead of creating another.
            let kinds = h.events.filter { $0.method == "POST" }.compactMap { $0.bodyJSON?[path: ["regarding", "kind"]]?.stringValue }
            #expect(kinds.sorted() == ["DaemonSet", "DaemonSet", "Deployment", "Deployment", "Deployment", "Pod", "ReplicaSet", "StatefulSet", "StatefulSet"])
            let counted = h.events.filter { $0.method == "PATCH" }.compactMap { $0.bodyJSON?[path: ["series", "count"]]?.intValue }
            #expect(counted == [2, 2, 2])
        }
    }
}
