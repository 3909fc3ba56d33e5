import Foundation
import KateAdmission
import KateKube
import KateNet
import KubeTestServer
import Testing

/// The owner-rate signature's replica reads through the real `KubeClient` against the Kubernetes test API server:
/// the scale subresource (built-in kinds by table, a custom resource through discovery), DaemonSet and Job counts,
/// 403 and kinds without a scale subresource; then the whole loop through the webhook; and the test server's
/// `/scale` checked with the real kubectl.
@Suite("Owner replica counts against the API server (scale subresource)")
struct OwnerReplicasEndToEndTests {
    static let rolloutUID = "6d1c7a52-3f0e-4b8e-9a61-0c2f4d5e6a7b"

    /// Argo Rollouts' CRD declares `subresources.scale` at `.spec.replicas`: a custom resource with a scale.
    static func putRollout(_ api: KubeTestServer, replicas: Int) throws {
        try api.put(Array(#"""
            {"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"canary","namespace":"db","uid":"\#(rolloutUID)"},
             "spec":{"replicas":\#(replicas),"selector":{"matchLabels":{"app":"canary"}}},"status":{"replicas":\#(replicas)}}
            """#.utf8))
    }

    static let rolloutOwner = OwnerReference(apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: "canary", uid: rolloutUID, controller: true)

    static func withServer(_ body: (KubeTestServer, KubeClient) async throws -> Void) async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        let client = KubeClient(configuration: api.clientConfiguration, fieldManager: "kate-webhook", logger: TestLogging.quiet)
        do {
            try await body(api, client)
        } catch {
            await client.shutdown()
            await api.stop()
            throw error
        }
        await client.shutdown()
        await api.stop()
    }

    @Test("ReplicaSet and StatefulSet through /scale, DaemonSet's desiredNumberScheduled, Job's completions + backoffLimit, a CRD via discovery")
    func readsEachKind() async throws {
        try await Self.withServer { api, client in
            let web = try api.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 3)
            let db = try api.addStatefulSet(namespace: "shop", name: "db", image: "postgres:16", replicas: 2)
            let agent = try api.addDaemonSet(namespace: "shop", name: "agent", image: "agent:1", nodes: ["a", "b", "c", "d"])
            try api.put(Array(#"""
                {"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"report","namespace":"shop","uid":"job-uid"},
                 "spec":{"completions":5,"parallelism":2,"backoffLimit":1,"template":{"spec":{"containers":[]}}}}
                """#.utf8))
            try Self.putRollout(api, replicas: 4)
            let reader = KubeOwnerReplicaReader(client: client)
            func owner(_ apiVersion: String, _ kind: String, _ name: String) -> OwnerReference {
                OwnerReference(apiVersion: apiVersion, kind: kind, name: name, uid: "u", controller: true)
            }
            #expect(await reader.replicaCount(of: try #require(web.pods.first?.metadata.controller), namespace: "shop") == .replicas(3))
            #expect(await reader.replicaCount(of: try #require(db.pods.first?.metadata.controller), namespace: "shop") == .replicas(2))
            #expect(await reader.replicaCount(of: try #require(agent.pods.first?.metadata.controller), namespace: "shop") == .replicas(4))
            #expect(await reader.replicaCount(of: owner("batch/v1", "Job", "report"), namespace: "shop") == .replicas(6))
            #expect(await reader.replicaCount(of: Self.rolloutOwner, namespace: "db") == .replicas(4))
            let paths = api.recordedCalls.map(\.path)
            #expect(paths.contains("/apis/apps/v1/namespaces/shop/replicasets/\(web.replicaSet.metadata.name ?? "")/scale"))
            #expect(paths.contains("/apis/apps/v1/namespaces/shop/statefulsets/db/scale"))
            #expect(paths.contains("/apis/argoproj.io/v1alpha1/namespaces/db/rollouts/canary/scale"))
            #expect(paths.contains("/apis/argoproj.io/v1alpha1"), "the custom kind's resource found through discovery")
            #expect(!paths.contains("/apis/apps/v1"), "built-in kinds need no discovery")
            // Discovery is cached: a second read of the custom kind asks only for its scale.
            api.clearRecordedCalls()
            #expect(await reader.replicaCount(of: Self.rolloutOwner, namespace: "db") == .replicas(4))
            #expect(api.recordedCalls.map(\.path) == ["/apis/argoproj.io/v1alpha1/namespaces/db/rollouts/canary/scale"])
        }
    }

    @Test("unknown, never a guess: a kind without a scale subresource, an unknown group, a 403, a missing owner")
    func unknownAnswers() async throws {
        try await Self.withServer { api, client in
            try Self.putRollout(api, replicas: 3)
            let reader = KubeOwnerReplicaReader(client: client)
            let cronJob = OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: "nightly", uid: "u", controller: true)
            guard case .unknown(let noScale) = await reader.replicaCount(of: cronJob, namespace: "db") else {
                Issue.record("a CronJob has no scale subresource")
                return
            }
            #expect(noScale.contains("no scale subresource"))
            let cnpg = OwnerReference(apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", name: "pg-main", uid: "u", controller: true)
            guard case .unknown = await reader.replicaCount(of: cnpg, namespace: "db") else {
                Issue.record("a group the server does not serve is unknown")
                return
            }
            let gone = OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "u", controller: true)
            guard case .unknown(let missing) = await reader.replicaCount(of: gone, namespace: "db") else {
                Issue.record("a missing owner is unknown")
                return
            }
            #expect(missing.contains("404") || missing.lowercased().contains("not found"), "\(missing)")
            api.denyRBAC(verb: "get", resource: "rollouts/scale")
            guard case .unknown(let forbidden) = await reader.replicaCount(of: Self.rolloutOwner, namespace: "db") else {
                Issue.record("403 is unknown")
                return
            }
            #expect(forbidden.contains("403") || forbidden.lowercased().contains("forbidden"), "\(forbidden)")
        }
    }

    /// A Rollout-owned pod with a generated name, as CREATE `uid`.
    static func rolloutPod(uid: Int) throws -> [UInt8] {
        try Fixtures.review(PinningGuardsTests.cnpg, edits: #"""
            [{"op":"remove","path":"/request/name"},{"op":"remove","path":"/request/object/metadata/name"},
             {"op":"add","path":"/request/object/metadata/generateName","value":"canary-"},
             {"op":"replace","path":"/request/object/metadata/ownerReferences","value":[
               {"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","name":"canary","uid":"\#(rolloutUID)","controller":true}]},
             {"op":"replace","path":"/request/uid","value":"rollout-\#(uid)"}]
            """#)
    }

    @Test("through the webhook: 40 generated-name CREATEs of a 3-replica custom resource trip once, one Event on it, one scale read")
    func loopThroughWebhook() async throws {
        try await Self.withServer { api, client in
            try Self.putRollout(api, replicas: 3)
            let rig = PinningGuardsTests.rig(
                policy: AdmissionPolicy(pinOperatorOwnedKinds: [try #require(OwnerKindPattern("Rollout.argoproj.io"))]), events: client,
                replicas: OwnerReplicas(reader: KubeOwnerReplicaReader(client: client)))
            var patched = 0
            for uid in 1...40 {
                if PinningGuardsTests.isPatched(try await rig.admit(try Self.rolloutPod(uid: uid))) { patched += 1 }
                await Task.yield()
            }
            #expect(patched == 16)
            let events = MutationLoopBreakerTests.events(api)
            try #require(events.count == 1)
            #expect(events[0].regarding == "Rollout/canary")
            #expect(events[0].type == "Warning")
            #expect(events[0].note.hasPrefix("kate stopped pinning: 17 pods of Rollout canary created in "), "\(events[0].note)")
            #expect(events[0].note.contains("for 3 replicas"))
            #expect(rig.counter("kate_mutation_loop_breaker_total", [("signature", "owner-rate")]) == 1)
            #expect(api.recordedCalls.filter { $0.path.hasSuffix("/scale") }.count == 1)
        }
    }

    @Test("the same owner with get on rollouts/scale denied (403): 40 CREATEs all pinned, no Event")
    func forbiddenNeverTrips() async throws {
        try await Self.withServer { api, client in
            try Self.putRollout(api, replicas: 3)
            api.denyRBAC(verb: "get", resource: "rollouts/scale")
            let rig = PinningGuardsTests.rig(
                policy: AdmissionPolicy(pinOperatorOwnedKinds: [try #require(OwnerKindPattern("Rollout.argoproj.io"))]), events: client,
                replicas: OwnerReplicas(reader: KubeOwnerReplicaReader(client: client)))
            for uid in 1...40 { #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.rolloutPod(uid: uid)))) }
            #expect(MutationLoopBreakerTests.events(api).isEmpty)
            #expect(api.recordedCalls.filter { $0.path.hasSuffix("/scale") }.count == 1, "the 403 is remembered, not asked per review")
        }
    }

    static let kubectl = "/usr/bin/kubectl"

    @Test("the test server's scale subresource as the real kubectl sees it: get --subresource=scale, then kubectl scale",
          .enabled(if: FileManager.default.isExecutableFile(atPath: OwnerReplicasEndToEndTests.kubectl)))
    func realKubectl() async throws {
        try await Self.withServer { api, client in
            try Self.putRollout(api, replicas: 3)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kate-scale-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let kubeconfig = directory.appendingPathComponent("kubeconfig")
            try Data("""
                apiVersion: v1
                kind: Config
                clusters: [{name: test, cluster: {server: "\(api.url)", certificate-authority-data: "\(Data(api.caPEM.utf8).base64EncodedString())"}}]
                users: [{name: test, user: {token: "\(api.token)"}}]
                contexts: [{name: test, context: {cluster: test, user: test}}]
                current-context: test
                """.utf8).write(to: kubeconfig)
            func kubectl(_ arguments: [String]) async throws -> String {
                let output = try await ChildProcessRunner.run(
                    executable: Self.kubectl, arguments: ["--kubeconfig", kubeconfig.path, "--cache-dir", directory.appendingPathComponent("cache").path] + arguments,
                    environment: ["HOME": directory.path, "PATH": "/usr/bin:/bin"], timeout: .seconds(60))
                let text = String(decoding: output.stdout, as: UTF8.self)
                #expect(output.status == 0, "kubectl \(arguments.joined(separator: " ")): \(String(decoding: output.stderr, as: UTF8.self))")
                return text
            }
            let scaleJSON = try await kubectl(["get", "rollouts.argoproj.io", "canary", "-n", "db", "--subresource=scale", "-o", "json"])
            let scale = try JSONDecoder().decode(Scale.self, from: Data(scaleJSON.utf8))
            #expect(scale.spec?.replicas == 3)
            #expect(scale.metadata.name == "canary")
            #expect(scaleJSON.contains(#""kind": "Scale""#))

            let scaled = try await kubectl(["scale", "rollouts.argoproj.io/canary", "-n", "db", "--replicas=7"])
            #expect(scaled.contains("scaled"), "\(scaled)")
            #expect(api.object(.rollouts, namespace: "db", name: "canary", as: RolloutReplicas.self)?.spec.replicas == 7)
            #expect(await KubeOwnerReplicaReader(client: client).replicaCount(of: Self.rolloutOwner, namespace: "db") == .replicas(7))
        }
    }

    struct RolloutReplicas: Decodable {
        struct Spec: Decodable { var replicas: Int }
        var spec: Spec
    }
}
