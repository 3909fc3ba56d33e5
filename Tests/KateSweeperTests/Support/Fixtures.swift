import Foundation
import KateKube

/// Objects shaped as `kubectl get -o json` prints them, built as JSON so the same fixture feeds the
/// test API server (bytes) and the unit tests (decoded `Pod`).
enum Fixtures {
    static func digest(_ seed: String) -> String {
        "sha256:" + String(repeating: seed, count: 64 / max(1, seed.count) + 1).prefix(64)
    }

    struct PodContainer {
        var name: String
        var image: String
        var imageID: String?
        var pullPolicy = "IfNotPresent"
        var sidecar = false
    }

    struct Owner {
        var kind: String
        var name: String
        var uid: String
        var apiVersion: String { kind == "Job" || kind == "CronJob" ? "batch/v1" : "apps/v1" }
    }

    // swiftlint:disable:next function_parameter_count
    static func pod(
        namespace: String = "default", name: String, uid: String? = nil, owner: Owner? = nil, labels: [String: String] = [:],
        annotations: [String: String] = [:], containers: [PodContainer], phase: String = "Running", node: String = "node-1",
        serviceAccount: String = "default", pullSecrets: [String] = [], deleting: Bool = false, ready: Bool = true
    ) -> [String: Any] {
        var metadata: [String: Any] = [
            "name": name, "namespace": namespace, "uid": uid ?? "uid-\(namespace)-\(name)", "resourceVersion": "1000",
            "creationTimestamp": "2026-11-20T10:00:00Z", "labels": labels,
        ]
        if !annotations.isEmpty { metadata["annotations"] = annotations }
        if deleting { metadata["deletionTimestamp"] = "2026-11-26T01:00:00Z" }
        if let owner {
            metadata["ownerReferences"] = [[
                "apiVersion": owner.apiVersion, "kind": owner.kind, "name": owner.name, "uid": owner.uid,
                "controller": true, "blockOwnerDeletion": true,
            ]]
            metadata["generateName"] = owner.name + "-"
        }
        let app = containers.filter { !$0.sidecar }
        let sidecars = containers.filter(\.sidecar)
        func specEntry(_ c: PodContainer) -> [String: Any] {
            var entry: [String: Any] = [
                "name": c.name, "image": c.image, "imagePullPolicy": c.pullPolicy, "resources": [String: Any](),
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            ]
            if c.sidecar { entry["restartPolicy"] = "Always" }
            return entry
        }
        func statusEntry(_ c: PodContainer) -> [String: Any] {
            var entry: [String: Any] = [
                "name": c.name, "image": c.image, "ready": ready, "started": true, "restartCount": 0,
                "state": ["running": ["startedAt": "2026-11-20T10:00:05Z"]],
                "containerID": "containerd://" + String(repeating: "c", count: 64),
            ]
            if let id = c.imageID { entry["imageID"] = id }
            return entry
        }
        var spec: [String: Any] = [
            "containers": app.map(specEntry), "restartPolicy": "Always", "serviceAccountName": serviceAccount,
            "nodeName": node, "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        ]
        if !sidecars.isEmpty { spec["initContainers"] = sidecars.map(specEntry) }
        if !pullSecrets.isEmpty { spec["imagePullSecrets"] = pullSecrets.map { ["name": $0] } }
        var status: [String: Any] = [
            "phase": phase, "hostIP": "10.0.0.1", "podIP": "10.244.0.10", "qosClass": "BestEffort",
            "startTime": "2026-11-20T10:00:00Z",
            // Reversed on purpose: statuses must be matched by name, not index.
            "containerStatuses": app.reversed().map(statusEntry),
            "conditions": [
                ["type": "PodScheduled", "status": "True"], ["type": "ContainersReady", "status": ready ? "True" : "False"],
                ["type": "Ready", "status": ready ? "True" : "False"],
            ],
        ]
        if !sidecars.isEmpty { status["initContainerStatuses"] = sidecars.map(statusEntry) }
        return ["apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status]
    }

    static func decodePod(_ object: [String: Any]) throws -> Pod {
        try JSONDecoder().decode(Pod.self, from: try JSONSerialization.data(withJSONObject: object))
    }

    static func bytes(_ object: [String: Any]) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    static func template(_ containers: [(name: String, image: String)], labels: [String: String]) -> [String: Any] {
        [
            "metadata": ["labels": labels],
            "spec": ["containers": containers.map { ["name": $0.name, "image": $0.image, "imagePullPolicy": "IfNotPresent"] }],
        ]
    }

    static func deployment(
        namespace: String = "default", name: String, uid: String, image: String, container: String = "app", replicas: Int = 5,
        paused: Bool = false, generation: Int = 3, observedGeneration: Int = 3, annotations: [String: String] = [:]
    ) -> [String: Any] {
        var metadata: [String: Any] = ["name": name, "namespace": namespace, "uid": uid, "generation": generation, "resourceVersion": "900"]
        if !annotations.isEmpty { metadata["annotations"] = annotations }
        var spec: [String: Any] = [
            "replicas": replicas, "selector": ["matchLabels": ["app": name]],
            "template": template([(container, image)], labels: ["app": name]),
            "strategy": ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": "25%", "maxUnavailable": "25%"]],
        ]
        if paused { spec["paused"] = true }
        return [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec,
            "status": [
                "observedGeneration": observedGeneration, "replicas": replicas, "updatedReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas,
            ],
        ]
    }

    static func replicaSet(namespace: String = "default", name: String, uid: String, deployment: Owner?, image: String, container: String = "app", hash: String) -> [String: Any] {
        var metadata: [String: Any] = ["name": name, "namespace": namespace, "uid": uid, "generation": 1, "labels": ["pod-template-hash": hash]]
        if let deployment {
            metadata["ownerReferences"] = [[
                "apiVersion": "apps/v1", "kind": "Deployment", "name": deployment.name, "uid": deployment.uid,
                "controller": true, "blockOwnerDeletion": true,
            ]]
        }
        return [
            "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": metadata,
            "spec": ["replicas": 1, "selector": ["matchLabels": ["pod-template-hash": hash]], "template": template([(container, image)], labels: ["pod-template-hash": hash])],
            "status": ["replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "observedGeneration": 1],
        ]
    }

    static func daemonSet(namespace: String = "default", name: String, uid: String, image: String, container: String = "agent", strategy: String = "RollingUpdate", nodes: Int = 3) -> [String: Any] {
        [
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": ["name": name, "namespace": namespace, "uid": uid, "generation": 2],
            "spec": ["selector": ["matchLabels": ["app": name]], "template": template([(container, image)], labels: ["app": name]), "updateStrategy": ["type": strategy]],
            "status": ["observedGeneration": 2, "desiredNumberScheduled": nodes, "currentNumberScheduled": nodes, "updatedNumberScheduled": nodes, "numberReady": nodes, "numberAvailable": nodes],
        ]
    }

    static func statefulSet(namespace: String = "default", name: String, uid: String, image: String, container: String = "db", strategy: String = "RollingUpdate", replicas: Int = 2) -> [String: Any] {
        [
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": ["name": name, "namespace": namespace, "uid": uid, "generation": 1],
            "spec": ["replicas": replicas, "serviceName": name, "selector": ["matchLabels": ["app": name]], "template": template([(container, image)], labels: ["app": name]), "updateStrategy": ["type": strategy]],
            "status": ["observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas, "currentRevision": "\(name)-7c9d", "updateRevision": "\(name)-7c9d"],
        ]
    }
}
