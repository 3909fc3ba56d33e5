import Foundation
import KateKube
import KubeTestServer
import Testing

/// The pod dumps under examples/pods/ (`kubectl get pod -o json` shapes of native sidecars, image
/// volumes, `kubectl debug` sessions, operator-owned pods, CronJob pods, DaemonSet pods on two
/// architectures, pull secrets) decode with KateKube's model without losing what kate reads, both
/// straight from the file and after a trip through the test API server and KubeClient.
@Suite("real-shaped pod dumps")
struct RealShapedPodDumpTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples/pods")

    static var podDumps: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") && $0 != "serviceaccount-builder.json" }.sorted()
    }

    static func load(_ name: String) throws -> (data: Data, json: [String: Any]) {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return (data, try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    @Test("there are pod dumps to decode")
    func dumpsExist() {
        #expect(Self.podDumps.count >= 10, "examples/pods holds \(Self.podDumps)")
    }

    @Test("every pod dump decodes with what kate reads intact", arguments: podDumps)
    func decodes(_ name: String) throws {
        let (data, json) = try Self.load(name)
        let pod = try JSONDecoder().decode(Pod.self, from: data)
        try Self.expectSame(pod, json)
    }

    @Test("every pod dump survives the test API server and KubeClient", arguments: podDumps)
    func throughTheServer(_ name: String) async throws {
        let (data, json) = try Self.load(name)
        try await withServer { server in
            try server.put(Array(data))
            let meta = try #require(json["metadata"] as? [String: Any])
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let listed = try await client.listPods(namespace: meta["namespace"] as? String)
            await client.shutdown()
            let pod = try #require(listed.first { $0.metadata.name == meta["name"] as? String })
            try Self.expectSame(pod, json)
        }
    }

    @Test("native sidecars are init containers with restartPolicy Always, and report running")
    func nativeSidecars() throws {
        let pod = try JSONDecoder().decode(Pod.self, from: Self.load("native-sidecar.json").data)
        #expect(pod.spec.initContainers?.map(\.isSidecar) == [false, true, true])
        let running = pod.status?.initContainerStatuses?.filter { $0.state?.running != nil }.map(\.name)
        #expect(running == ["log-shipper", "mesh-proxy"])
    }

    @Test("DaemonSet pods on amd64 and arm64 report one index digest for a multi-arch tag")
    func multiArchDaemonSet() throws {
        let amd = try JSONDecoder().decode(Pod.self, from: Self.load("daemonset-amd64.json").data)
        let arm = try JSONDecoder().decode(Pod.self, from: Self.load("daemonset-arm64.json").data)
        #expect(amd.spec.nodeName != arm.spec.nodeName)
        #expect(amd.status?.containerStatuses?.first?.imageID == arm.status?.containerStatuses?.first?.imageID)
        #expect(amd.metadata.controller?.kind == "DaemonSet" && arm.metadata.controller?.kind == "DaemonSet")
    }

    @Test("operator-owned pods name their operator's kind as controller, or none")
    func operatorOwners() throws {
        let cnpg = try JSONDecoder().decode(Pod.self, from: Self.load("cnpg-instance.json").data)
        #expect(cnpg.metadata.controller?.apiVersion == "postgresql.cnpg.io/v1" && cnpg.metadata.controller?.kind == "Cluster")
        let strimzi = try JSONDecoder().decode(Pod.self, from: Self.load("strimzi-broker.json").data)
        #expect(strimzi.metadata.ownerReferences?.first?.kind == "StrimziPodSet")
        #expect(strimzi.metadata.controller == nil, "Strimzi's StrimziPodSet reference is not a controller reference")
        let job = try JSONDecoder().decode(Pod.self, from: Self.load("cronjob-job-succeeded.json").data)
        #expect(job.metadata.controller?.kind == "Job" && job.status?.phase == "Succeeded")
    }

    @Test("pull secrets come from the pod and from its ServiceAccount")
    func pullSecrets() throws {
        let pod = try JSONDecoder().decode(Pod.self, from: Self.load("pull-secrets.json").data)
        #expect(pod.spec.imagePullSecrets?.map(\.name) == ["acme-registry", "harbor-robot"])
        #expect(pod.spec.serviceAccountName == "builder")
        let account = try JSONDecoder().decode(ServiceAccount.self, from: Self.load("serviceaccount-builder.json").data)
        #expect(account.imagePullSecrets?.map(\.name) == ["builder-dockercfg-7xk9p", "harbor-robot"])
    }

    /// Names, images, pull secrets, image volumes, statuses and the controller, against the raw JSON.
    static func expectSame(_ pod: Pod, _ json: [String: Any]) throws {
        let spec = try #require(json["spec"] as? [String: Any])
        func list(_ value: Any?) -> [[String: Any]] { value as? [[String: Any]] ?? [] }
        func names(_ value: Any?) -> [String] { list(value).compactMap { $0["name"] as? String } }
        #expect(pod.spec.containers.map(\.name) == names(spec["containers"]))
        #expect(pod.spec.containers.map(\.image) == list(spec["containers"]).map { $0["image"] as? String })
        #expect((pod.spec.initContainers ?? []).map(\.name) == names(spec["initContainers"]))
        #expect((pod.spec.initContainers ?? []).map(\.restartPolicy) == list(spec["initContainers"]).map { $0["restartPolicy"] as? String })
        #expect((pod.spec.ephemeralContainers ?? []).map(\.image) == list(spec["ephemeralContainers"]).map { $0["image"] as? String })
        #expect((pod.spec.imagePullSecrets ?? []).map(\.name) == names(spec["imagePullSecrets"]))
        #expect(pod.spec.serviceAccountName == spec["serviceAccountName"] as? String)
        #expect(pod.spec.nodeName == spec["nodeName"] as? String)
        let imageVolumes = list(spec["volumes"]).compactMap { ($0["image"] as? [String: Any])?["reference"] as? String }
        #expect((pod.spec.volumes ?? []).compactMap { $0.image?.reference } == imageVolumes)
        let status = try #require(json["status"] as? [String: Any])
        #expect(pod.status?.phase == status["phase"] as? String)
        for key in ["containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"] {
            let decoded: [ContainerStatus] = switch key {
            case "containerStatuses": pod.status?.containerStatuses ?? []
            case "initContainerStatuses": pod.status?.initContainerStatuses ?? []
            default: pod.status?.ephemeralContainerStatuses ?? []
            }
            #expect(decoded.map(\.name) == names(status[key]), "\(key)")
            #expect(decoded.map(\.imageID) == list(status[key]).map { $0["imageID"] as? String }, "\(key)")
        }
        let meta = try #require(json["metadata"] as? [String: Any])
        let controller = list(meta["ownerReferences"]).first { $0["controller"] as? Bool == true }
        #expect(pod.metadata.controller?.kind == controller?["kind"] as? String)
        #expect(pod.metadata.controller?.uid == controller?["uid"] as? String)
    }
}
