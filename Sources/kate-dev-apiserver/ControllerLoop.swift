import Foundation
import KubeTestServer
import Logging

/// Just enough of kube-controller-manager, the scheduler and the kubelet for the demo: a
/// Deployment whose pod template changed (a new one, or `kubectl rollout restart`) gets a new
/// ReplicaSet named by the template's hash; its pods are created through admission (the webhook
/// pins them), bound to one node and reported Running with the imageID of what they were admitted
/// with; the old ReplicaSets are scaled to zero and their pods removed at once (no surge, no
/// grace period). Statuses and the controllers' Events are written the way the real ones write them.
struct ControllerLoop {
    let server: KubeTestServer
    let admission: AdmissionCaller?
    let logger: Logger
    static let node = "kate-dev-node"

    func run() async {
        while !Task.isCancelled {
            for deployment in server.objects(.deployments) {
                await reconcile(deployment)
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func reconcile(_ deployment: JSONValue) async {
        guard let namespace = deployment[path: ["metadata", "namespace"]]?.stringValue, let name = deployment[path: ["metadata", "name"]]?.stringValue,
              let uid = deployment[path: ["metadata", "uid"]]?.stringValue, let template = deployment[path: ["spec", "template"]]
        else { return }
        let replicas = deployment[path: ["spec", "replicas"]]?.intValue ?? 1
        let hash = Self.podTemplateHash(template)
        let currentName = "\(name)-\(hash)"
        let owned = server.objects(.replicaSets, namespace: namespace).filter { Self.controllerUID($0) == uid }
        var current = owned.first { $0[path: ["metadata", "name"]]?.stringValue == currentName }
        if current == nil {
            let revision = (owned.compactMap { Int($0[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]]?.stringValue ?? "") }.max() ?? 0) + 1
            current = try? server.put(replicaSet(currentName, of: deployment, template: template, hash: hash, replicas: replicas, revision: revision))
            _ = try? server.modify(.deployments, namespace: namespace, name: name) { object in
                object[path: ["metadata", "annotations", "deployment.kubernetes.io/revision"]] = .string(String(revision))
            }
            event(on: deployment, reason: "ScalingReplicaSet", message: "Scaled up replica set \(currentName) from 0 to \(replicas)", component: "deployment-controller")
        }
        guard let current, let currentUID = current[path: ["metadata", "uid"]]?.stringValue else { return }
        for old in owned where old[path: ["metadata", "name"]]?.stringValue != currentName && (old[path: ["spec", "replicas"]]?.intValue ?? 0) > 0 {
            let oldName = old[path: ["metadata", "name"]]?.stringValue ?? ""
            let had = old[path: ["spec", "replicas"]]?.intValue ?? 0
            for pod in pods(ownedBy: old[path: ["metadata", "uid"]]?.stringValue ?? "", namespace: namespace) {
                server.remove(.pods, namespace: namespace, name: pod[path: ["metadata", "name"]]?.stringValue ?? "")
            }
            _ = try? server.modify(.replicaSets, namespace: namespace, name: oldName) { object in
                object[path: ["spec", "replicas"]] = .int(0)
                object["status"] = .object([("replicas", .int(0)), ("observedGeneration", object[path: ["metadata", "generation"]] ?? .int(1))])
            }
            event(on: deployment, reason: "ScalingReplicaSet", message: "Scaled down replica set \(oldName) from \(had) to 0", component: "deployment-controller")
        }
        var running = pods(ownedBy: currentUID, namespace: namespace)
        while running.count < replicas {
            guard let pod = await createPod(for: current, namespace: namespace) else { break }
            running.append(pod)
        }
        updateStatuses(deployment: deployment, replicaSet: current, pods: running.count, replicas: replicas)
    }

    // MARK: - ReplicaSet and pods

    private func replicaSet(_ name: String, of deployment: JSONValue, template: JSONValue, hash: String, replicas: Int, revision: Int) -> JSONValue {
        var template = template
        template[path: ["metadata", "labels", "pod-template-hash"]] = .string(hash)
        var selector = deployment[path: ["spec", "selector"]] ?? .object([])
        selector[path: ["matchLabels", "pod-template-hash"]] = .string(hash)
        var labels = template[path: ["metadata", "labels"]] ?? .object([])
        labels["pod-template-hash"] = .string(hash)
        return .object([
            ("apiVersion", .string("apps/v1")), ("kind", .string("ReplicaSet")),
            ("metadata", .object([
                ("name", .string(name)), ("namespace", deployment[path: ["metadata", "namespace"]] ?? .string("default")), ("labels", labels),
                ("annotations", .object([
                    ("deployment.kubernetes.io/desired-replicas", .string(String(replicas))),
                    ("deployment.kubernetes.io/max-replicas", .string(String(replicas + 1))),
                    ("deployment.kubernetes.io/revision", .string(String(revision))),
                ])),
                ("ownerReferences", .array([Self.ownerReference(deployment, kind: "Deployment", apiVersion: "apps/v1")])),
            ])),
            ("spec", .object([("replicas", .int(replicas)), ("selector", selector), ("template", template)])),
        ])
    }

    private func pods(ownedBy uid: String, namespace: String) -> [JSONValue] {
        server.objects(.pods, namespace: namespace).filter { Self.controllerUID($0) == uid }
    }

    /// The pod the ReplicaSet controller asks for, admitted like any pod CREATE, then scheduled
    /// and started.
    private func createPod(for replicaSet: JSONValue, namespace: String) async -> JSONValue? {
        let rsName = replicaSet[path: ["metadata", "name"]]?.stringValue ?? ""
        var pod = Self.podFromTemplate(replicaSet, namespace: namespace)
        if let admission {
            let outcome = await admission.admit(pod: pod, namespace: namespace, user: "system:serviceaccount:kube-system:replicaset-controller")
            for warning in outcome.warnings { logger.warning("admission warning", metadata: ["pod": "\(namespace)/\(rsName)-", "warning": "\(warning)"]) }
            guard outcome.allowed else {
                event(on: replicaSet, reason: "FailedCreate", message: "Error creating: admission webhook denied the request: \(outcome.message ?? "")",
                      component: "replicaset-controller", type: "Warning")
                return nil
            }
            pod = outcome.pod
        }
        let name = rsName + "-" + Self.randomSuffix()
        pod[path: ["metadata", "name"]] = .string(name)
        pod[path: ["spec", "nodeName"]] = .string(Self.node)
        pod["status"] = Self.runningStatus(of: pod)
        do {
            let stored = try server.put(pod)
            event(on: replicaSet, reason: "SuccessfulCreate", message: "Created pod: \(name)", component: "replicaset-controller")
            return stored
        } catch {
            logger.error("cannot store pod", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
            return nil
        }
    }

    static func podFromTemplate(_ replicaSet: JSONValue, namespace: String) -> JSONValue {
        let template = replicaSet[path: ["spec", "template"]] ?? .object([])
        var spec = template["spec"] ?? .object([])
        for (field, value) in [
            ("restartPolicy", JSONValue.string("Always")), ("terminationGracePeriodSeconds", .int(30)), ("dnsPolicy", .string("ClusterFirst")),
            ("serviceAccountName", .string("default")), ("serviceAccount", spec["serviceAccountName"] ?? .string("default")),
            ("securityContext", .object([])), ("schedulerName", .string("default-scheduler")), ("enableServiceLinks", .bool(true)),
            ("priority", .int(0)), ("preemptionPolicy", .string("PreemptLowerPriority")),
        ] where spec[field] == nil {
            spec[field] = value
        }
        for list in ["initContainers", "containers"] {
            guard let containers = spec[list]?.arrayValue else { continue }
            spec[list] = .array(containers.map { container in
                var container = container
                let image = container["image"]?.stringValue ?? ""
                if container["imagePullPolicy"] == nil {
                    let tag = image.split(separator: "/").last.flatMap { $0.split(separator: ":").dropFirst().first } ?? "latest"
                    container["imagePullPolicy"] = .string(tag == "latest" && !image.contains("@") ? "Always" : "IfNotPresent")
                }
                if container["terminationMessagePath"] == nil { container["terminationMessagePath"] = .string("/dev/termination-log") }
                if container["terminationMessagePolicy"] == nil { container["terminationMessagePolicy"] = .string("File") }
                if container["resources"] == nil { container["resources"] = .object([]) }
                return container
            })
        }
        var metadata: JSONValue = .object([
            ("generateName", .string((replicaSet[path: ["metadata", "name"]]?.stringValue ?? "") + "-")), ("namespace", .string(namespace)),
        ])
        if let labels = template[path: ["metadata", "labels"]] { metadata["labels"] = labels }
        if let annotations = template[path: ["metadata", "annotations"]] { metadata["annotations"] = annotations }
        metadata["ownerReferences"] = .array([ownerReference(replicaSet, kind: "ReplicaSet", apiVersion: "apps/v1")])
        return .object([("apiVersion", .string("v1")), ("kind", .string("Pod")), ("metadata", metadata), ("spec", spec)])
    }

    /// What the kubelet reports once the containers run: the imageID is the digest the pod was
    /// pinned to (a node pulls exactly that), else a digest made up from the tag.
    static func runningStatus(of pod: JSONValue) -> JSONValue {
        let now = timestamp(Date())
        func statuses(_ list: String) -> [JSONValue] {
            (pod[path: ["spec", list]]?.arrayValue ?? []).map { container in
                let image = container["image"]?.stringValue ?? ""
                let sidecar = list == "containers" || container["restartPolicy"]?.stringValue == "Always"
                let state: JSONValue = sidecar
                    ? .object([("running", .object([("startedAt", .string(now))]))])
                    : .object([("terminated", .object([("exitCode", .int(0)), ("reason", .string("Completed")), ("startedAt", .string(now)), ("finishedAt", .string(now))]))])
                return .object([
                    ("name", container["name"] ?? .string("")), ("state", state), ("ready", .bool(sidecar)), ("restartCount", .int(0)),
                    ("image", .string(image)), ("imageID", .string(imageID(for: image))),
                    ("containerID", .string("containerd://" + KubeTestServer.fakeDigest(for: image + now + UUID().uuidString).replacingOccurrences(of: "sha256:", with: ""))),
                    ("started", .bool(sidecar)),
                ])
            }
        }
        let conditions: [JSONValue] = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
            .object([("type", .string($0)), ("status", .string("True")), ("lastProbeTime", .null), ("lastTransitionTime", .string(now))])
        }
        var status: JSONValue = .object([
            ("phase", .string("Running")), ("conditions", .array(conditions)), ("hostIP", .string("10.89.0.2")),
            ("hostIPs", .array([.object([("ip", .string("10.89.0.2"))])])), ("podIP", .string("10.244.0.\(Int.random(in: 2...250))")),
            ("startTime", .string(now)),
        ])
        status["podIPs"] = .array([.object([("ip", status["podIP"] ?? .null)])])
        let initStatuses = statuses("initContainers")
        if !initStatuses.isEmpty { status["initContainerStatuses"] = .array(initStatuses) }
        status["containerStatuses"] = .array(statuses("containers"))
        status["qosClass"] = .string("BestEffort")
        return status
    }

    static func imageID(for image: String) -> String {
        guard let at = image.range(of: "@sha256:") else { return KubeTestServer.imageID(for: image) }
        return KubeTestServer.containerdImageID(image: String(image[..<at.lowerBound]), digest: String(image[image.index(after: at.lowerBound)...]))
    }

    // MARK: - Status and events

    private func updateStatuses(deployment: JSONValue, replicaSet: JSONValue, pods: Int, replicas: Int) {
        let namespace = deployment[path: ["metadata", "namespace"]]?.stringValue
        let rsStatus: JSONValue = .object([
            ("replicas", .int(pods)), ("fullyLabeledReplicas", .int(pods)), ("readyReplicas", .int(pods)), ("availableReplicas", .int(pods)),
            ("observedGeneration", replicaSet[path: ["metadata", "generation"]] ?? .int(1)),
        ])
        if replicaSet["status"] != rsStatus {
            _ = try? server.modify(.replicaSets, namespace: namespace, name: replicaSet[path: ["metadata", "name"]]?.stringValue ?? "") { $0["status"] = rsStatus }
        }
        let generation = deployment[path: ["metadata", "generation"]] ?? .int(1)
        let complete = pods >= replicas
        let rsName = replicaSet[path: ["metadata", "name"]]?.stringValue ?? ""
        let summary: [(String, JSONValue)] = [
            ("observedGeneration", generation), ("replicas", .int(pods)), ("updatedReplicas", .int(pods)), ("readyReplicas", .int(pods)),
            ("availableReplicas", .int(pods)),
        ]
        let current = deployment["status"]
        if summary.allSatisfy({ current?[$0.0] == $0.1 }), current?["conditions"] != nil { return }
        let now = Self.timestamp(Date())
        let conditions: JSONValue = .array([
            .object([
                ("type", .string("Available")), ("status", .string(complete ? "True" : "False")), ("lastUpdateTime", .string(now)),
                ("lastTransitionTime", .string(now)),
                ("reason", .string(complete ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable")),
                ("message", .string(complete ? "Deployment has minimum availability." : "Deployment does not have minimum availability.")),
            ]),
            .object([
                ("type", .string("Progressing")), ("status", .string("True")), ("lastUpdateTime", .string(now)), ("lastTransitionTime", .string(now)),
                ("reason", .string(complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated")),
                ("message", .string(complete ? "ReplicaSet \"\(rsName)\" has successfully progressed." : "ReplicaSet \"\(rsName)\" is progressing.")),
            ]),
        ])
        _ = try? server.modify(.deployments, namespace: namespace, name: deployment[path: ["metadata", "name"]]?.stringValue ?? "") { object in
            object["status"] = .object(summary + [("conditions", conditions)])
        }
    }

    /// A core v1 Event as client-go's event recorder writes it (stored in both API versions).
    private func event(on object: JSONValue, reason: String, message: String, component: String, type: String = "Normal") {
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        let now = Self.timestamp(Date())
        let involved: JSONValue = .object([
            ("kind", object["kind"] ?? .string("")), ("namespace", object[path: ["metadata", "namespace"]] ?? .null), ("name", .string(name)),
            ("uid", object[path: ["metadata", "uid"]] ?? .null), ("apiVersion", object["apiVersion"] ?? .null),
            ("resourceVersion", object[path: ["metadata", "resourceVersion"]] ?? .null),
        ])
        let event: JSONValue = .object([
            ("apiVersion", .string("v1")), ("kind", .string("Event")),
            ("metadata", .object([
                ("name", .string("\(name).\(String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16))")),
                ("namespace", object[path: ["metadata", "namespace"]] ?? .string("default")),
            ])),
            ("involvedObject", involved), ("reason", .string(reason)), ("message", .string(message)), ("source", .object([("component", .string(component))])),
            ("firstTimestamp", .string(now)), ("lastTimestamp", .string(now)), ("count", .int(1)), ("type", .string(type)), ("eventTime", .null),
            ("reportingComponent", .string(component)), ("reportingInstance", .string("")),
        ])
        do { try server.addEvent(event) } catch { logger.error("cannot store event", metadata: ["error": "\(error)"]) }
    }

    // MARK: - Helpers

    static func controllerUID(_ object: JSONValue) -> String? {
        (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).first { $0["controller"]?.boolValue == true }?["uid"]?.stringValue
    }

    static func ownerReference(_ owner: JSONValue, kind: String, apiVersion: String) -> JSONValue {
        .object([
            ("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("name", owner[path: ["metadata", "name"]] ?? .string("")),
            ("uid", owner[path: ["metadata", "uid"]] ?? .string("")), ("controller", .bool(true)), ("blockOwnerDeletion", .bool(true)),
        ])
    }

    /// The deployment controller's pod-template-hash: a 32-bit FNV-1a of the template whose
    /// decimal digits are spelled in the apiserver's "safe" alphabet (rand.SafeEncodeString).
    static func podTemplateHash(_ template: JSONValue) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in template.serialized() {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String(String(hash).utf8.map { alphabet[Int($0) % alphabet.count] })
    }

    static func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet.randomElement() ?? "x" })
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
