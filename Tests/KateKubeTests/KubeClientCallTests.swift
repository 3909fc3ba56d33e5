import Foundation
@testable import KateKube
import KubeTestServer
import Testing

@Suite("KubeClient calls against the test API server")
struct KubeClientCallTests {
    @Test("listPods pages with limit+continue and returns every pod once, in key order")
    func pagination() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 7)
            try server.addDeployment(namespace: "blog", name: "ghost", image: "ghost:5", replicas: 3)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let all = try await client.listPods(namespace: nil, pageSize: 3)
            #expect(all.count == 10)
            #expect(all.map { "\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")" } == all.map { "\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")" }.sorted())
            let lists = server.recordedCalls.filter { $0.path == "/api/v1/pods" }
            #expect(lists.count == 4)
            #expect(lists.map { $0.queryValue("limit") } == ["3", "3", "3", "3"])
            #expect(lists[0].queryValue("continue") == nil)
            #expect(lists.dropFirst().allSatisfy { ($0.queryValue("continue") ?? "").isEmpty == false })
            let shop = try await client.listPods(namespace: "shop")
            #expect(shop.count == 7 && shop.allSatisfy { $0.metadata.namespace == "shop" })
            #expect(server.recordedCalls.last?.path == "/api/v1/namespaces/shop/pods")
        }
    }

    @Test("a 410 Expired continue token restarts the list from scratch")
    func expiredContinueRestarts() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 5)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            server.expireNextContinueTokens(count: 1)
            let pods = try await client.listPods(namespace: "shop", pageSize: 2)
            #expect(pods.count == 5)
            #expect(Set(pods.compactMap(\.metadata.name)).count == 5)
            let continues = server.recordedCalls.map { $0.queryValue("continue") == nil ? "first" : "next" }
            // first page, expired next, then a fresh list of three pages
            #expect(continues == ["first", "next", "first", "next", "next"])
        }
    }

    @Test("a compaction expires every outstanding token; the list restarts at most a few times, then fails with 410")
    func compactionAndGiveUp() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 4)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            server.expireNextContinueTokens(count: 100)
            let error = try await #require(throws: KubeError.self) { try await client.listPods(namespace: "shop", pageSize: 2) }
            #expect(error.code == 410)
            #expect(error.reason == "Expired")
            #expect(error.message.hasPrefix("The provided continue parameter is too old"))
            #expect(server.recordedCalls.count == 2 * (KubeClient.maxListRestarts + 1))
        }
    }

    @Test("label and field selectors are sent encoded and applied by the server")
    func selectors() async throws {
        try await withServer { server in
            try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 2)
            try server.addDeployment(namespace: "shop", name: "api", image: "api:1", replicas: 3)
            try server.addPod(namespace: "shop", name: "done", containers: [TestContainer(name: "x", image: "busybox")], options: PodOptions(phase: "Succeeded"))
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            #expect(try await client.listPods(namespace: nil, labelSelector: "app in (web, api)").count == 5)
            #expect(try await client.listPods(namespace: "shop", labelSelector: "app!=web").count == 4)
            #expect(try await client.listPods(namespace: nil, fieldSelector: "status.phase=Running").count == 5)
            #expect(try await client.listPods(namespace: nil, labelSelector: "app=api", fieldSelector: "metadata.namespace=shop,spec.nodeName=node-a").count == 3)
            #expect(server.recordedCalls.first?.queryValue("labelSelector") == "app in (web, api)")
            #expect(server.recordedCalls.first?.query?.contains("app%20in%20%28web%2C%20api%29") == true)
            let error = try await #require(throws: KubeError.self) { try await client.listPods(namespace: nil, labelSelector: "app in web") }
            #expect(error.code == 400)
        }
    }

    @Test("get each kind decodes the fixture cluster")
    func getEachKind() async throws {
        try await withServer { server in
            try server.loadAllFixtures()
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let pod = try await client.getPod(namespace: "shop", name: "web-7d9c6b8f5-x2vqn")
            let rs = try await client.getReplicaSet(namespace: "shop", name: try #require(pod.metadata.controller?.name))
            let deployment = try await client.getDeployment(namespace: "shop", name: try #require(rs.metadata.controller?.name))
            #expect(deployment.spec?.replicas == 3)
            #expect(deployment.spec?.template?.spec?.containers.first?.image == "nginx:1.27")
            let sts = try await client.getStatefulSet(namespace: "shop", name: "db")
            #expect(sts.spec?.updateStrategy?.type == "RollingUpdate")
            #expect(sts.status?.currentRevision == sts.status?.updateRevision)
            let ds = try await client.getDaemonSet(namespace: "monitoring", name: "agent")
            #expect(ds.status?.numberReady == 1)
            let job = try await client.getJob(namespace: "shop", name: "report-29401500")
            #expect(job.cronJob?.name == "report")
            let account = try await client.getServiceAccount(namespace: "shop", name: "web")
            #expect(account.imagePullSecrets?.map(\.name) == ["regcred"])
            let secret = try await client.getSecret(namespace: "shop", name: "regcred")
            #expect(secret.decodedData(".dockerconfigjson") != nil)
            let namespace = try await client.getNamespace(name: "shop")
            #expect(namespace.metadata.labels?["kubernetes.io/metadata.name"] == "shop")
            try server.addNamespace("legacy", labels: ["kate.dev/skip": "true"])
            #expect(try await client.listNamespaces(labelSelector: "kate.dev/skip=true").map(\.metadata.name) == ["legacy"])
            let paths = server.recordedCalls.map(\.path)
            #expect(paths.contains("/apis/apps/v1/namespaces/shop/deployments/web"))
            #expect(paths.contains("/apis/batch/v1/namespaces/shop/jobs/report-29401500"))
            let missing = try await #require(throws: KubeError.self) { try await client.getDeployment(namespace: "shop", name: "nope") }
            #expect(missing.isNotFound && missing.reason == "NotFound")
            #expect(missing.message == #"deployments.apps "nope" not found"#)
        }
    }

    @Test("rolloutRestart sends exactly kubectl's strategic-merge patch with the field manager", arguments: [WorkloadKind.deployment, .statefulSet, .daemonSet])
    func rolloutRestart(kind: WorkloadKind) async throws {
        try await withServer { server in
            switch kind {
            case .deployment: try server.addDeployment(namespace: "shop", name: "w", image: "nginx:1.27")
            case .statefulSet: try server.addStatefulSet(namespace: "shop", name: "w", image: "nginx:1.27")
            case .daemonSet: try server.addDaemonSet(namespace: "shop", name: "w", image: "nginx:1.27")
            case .replicaSet: Issue.record("not a rollout kind")
            }
            let client = KubeClient(configuration: server.clientConfiguration, fieldManager: "kate-sweeper", logger: testLogger)
            let type: ResourceType = kind == .deployment ? .deployments : kind == .statefulSet ? .statefulSets : .daemonSets
            let before = try #require(server.object(type, namespace: "shop", name: "w"))
            try await client.rolloutRestart(kind, namespace: "shop", name: "w", at: Date(timeIntervalSince1970: 1_714_566_896))
            let call = try #require(server.recordedCalls.last)
            #expect(call.method == "PATCH")
            #expect(call.path == "/apis/apps/v1/namespaces/shop/\(kind.resource)/w")
            #expect(call.contentType == "application/strategic-merge-patch+json")
            #expect(call.queryValue("fieldManager") == "kate-sweeper")
            #expect(call.bodyText == #"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2024-05-01T12:34:56Z"}}}}}"#)
            let after = try #require(server.object(type, namespace: "shop", name: "w"))
            #expect(after[path: ["spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"]] == .string("2024-05-01T12:34:56Z"))
            #expect(after[path: ["metadata", "generation"]]?.intValue == (before[path: ["metadata", "generation"]]?.intValue ?? 0) + 1)
            #expect((after[path: ["metadata", "resourceVersion"]]?.stringValue).flatMap { Int($0) } ?? 0 > (before[path: ["metadata", "resourceVersion"]]?.stringValue).flatMap { Int($0) } ?? 0)
            #expect(after[path: ["spec", "template", "spec", "containers"]] == before[path: ["spec", "template", "spec", "containers"]])
        }
    }

    @Test("a ReplicaSet cannot be rollout-restarted; merge patches are applied")
    func mergePatchAndUnsupportedRestart() async throws {
        try await withServer { server in
            let web = try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27")
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let rsName = try #require(web.replicaSet.metadata.name)
            await #expect(throws: KubeError.self) { try await client.rolloutRestart(.replicaSet, namespace: "shop", name: rsName, at: Date()) }
            #expect(server.recordedCalls.isEmpty)
            try await client.patch(.deployment, namespace: "shop", name: "web", body: Array(#"{"metadata":{"annotations":{"kate.dev/skip":"true"}}}"#.utf8), contentType: .merge)
            #expect(server.recordedCalls.last?.contentType == "application/merge-patch+json")
            let deployment = try await client.getDeployment(namespace: "shop", name: "web")
            #expect(deployment.metadata.annotations?["kate.dev/skip"] == "true")
            #expect(deployment.metadata.generation == 1, "metadata-only patches leave generation alone")
        }
    }

    @Test("eviction deletes the pod; a PodDisruptionBudget answers 429 and the pod stays")
    func eviction() async throws {
        try await withServer { server in
            let web = try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 2)
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let first = try #require(web.pods[0].metadata.name), second = try #require(web.pods[1].metadata.name)
            try await client.evict(namespace: "shop", name: first)
            let call = try #require(server.recordedCalls.last)
            #expect(call.method == "POST" && call.path == "/api/v1/namespaces/shop/pods/\(first)/eviction")
            #expect(call.bodyJSON?["apiVersion"] == .string("policy/v1"))
            #expect(call.bodyJSON?["kind"] == .string("Eviction"))
            #expect(call.bodyJSON?[path: ["metadata", "name"]] == .string(first))
            #expect(call.bodyJSON?[path: ["metadata", "namespace"]] == .string("shop"))
            #expect(server.object(.pods, namespace: "shop", name: first) == nil)

            server.blockEviction(namespace: "shop", name: second, pdb: "web-pdb")
            server.clearRecordedCalls()
            let error = try await #require(throws: KubeError.self) { try await client.evict(namespace: "shop", name: second) }
            #expect(error.code == 429 && error.isTooManyRequests)
            #expect(error.message == "Cannot evict pod as it would violate the pod's disruption budget.")
            #expect(server.recordedCalls.count == 1, "an eviction is never retried by the client")
            #expect(server.object(.pods, namespace: "shop", name: second) != nil)
            let gone = try await #require(throws: KubeError.self) { try await client.evict(namespace: "shop", name: first) }
            #expect(gone.isNotFound)
        }
    }

    @Test("deletePod sends a UID precondition; a different UID answers 409 and nothing is deleted")
    func deleteWithPrecondition() async throws {
        try await withServer { server in
            let pod = try server.addPod(namespace: "shop", name: "toolbox", containers: [TestContainer(name: "t", image: "busybox:1.36")])
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let error = try await #require(throws: KubeError.self) { try await client.deletePod(namespace: "shop", name: "toolbox", uid: "stale-uid") }
            #expect(error.isConflict)
            #expect(error.message.hasPrefix("Precondition failed: UID in precondition: stale-uid"))
            #expect(server.object(.pods, namespace: "shop", name: "toolbox") != nil)
            let uid = try #require(pod.metadata.uid)
            try await client.deletePod(namespace: "shop", name: "toolbox", uid: uid)
            #expect(server.recordedCalls.last?.bodyJSON == .object([("preconditions", .object([("uid", .string(uid))]))]))
            #expect(server.object(.pods, namespace: "shop", name: "toolbox") == nil)
        }
    }

    @Test("createEvent posts an events.k8s.io/v1 Event with microsecond eventTime")
    func createEvent() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, fieldManager: "kate-sweeper", logger: testLogger)
            let event = KubeEvent(
                regarding: ObjectReference(apiVersion: "apps/v1", kind: "Deployment", namespace: "shop", name: "web", uid: "u-1"),
                reason: "StaleDigest", note: "nginx:1.27 moved to sha256:abc; restarted", type: .normal, action: "RolloutRestart",
                reportingInstance: "kate-sweeper-29401500-abcde", eventTime: Date(timeIntervalSince1970: 1_714_566_896.123456)
            )
            try await client.createEvent(event)
            let call = try #require(server.recordedCalls.last)
            #expect(call.method == "POST" && call.path == "/apis/events.k8s.io/v1/namespaces/shop/events")
            let body = try #require(call.bodyJSON)
            #expect(body["apiVersion"] == .string("events.k8s.io/v1"))
            #expect(body["eventTime"] == .string("2024-05-01T12:34:56.123456Z"))
            #expect(body["reportingController"] == .string("kate.dev/sweeper"))
            #expect(body["reportingInstance"] == .string("kate-sweeper-29401500-abcde"))
            #expect(body[path: ["regarding", "kind"]] == .string("Deployment"))
            #expect(body["type"] == .string("Normal") && body["action"] == .string("RolloutRestart") && body["reason"] == .string("StaleDigest"))
            #expect(server.count(.events) == 1)
        }
    }
}
