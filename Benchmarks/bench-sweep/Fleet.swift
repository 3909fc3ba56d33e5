import Foundation

/// A cluster as `kubectl get -o json` would show it: workloads of every owner kind the sweeper
/// distinguishes, spread round-robin over namespaces and tags, every fifth workload running a digest
/// its tag no longer points to (so owners are read and actions planned), each namespace with its
/// own `kubernetes.io/dockerconfigjson` pull secret for the private registry, handed to the pods
/// by the namespace's default ServiceAccount (and, on every other workload, by the pod itself).
struct Fleet {
    enum Kind: CaseIterable {
        case deployment, statefulSet, statefulSetOnDelete, daemonSet, daemonSetOnDelete, bareReplicaSet, barePod, job

        var podsPerWorkload: Int {
            switch self {
            case .barePod, .job: 1
            default: 3
            }
        }
    }

    struct Tag {
        var image: String
        var repository: String
        var digest: String
    }

    /// Objects in load order (secrets and accounts, owners, pods), as JSON.
    var objects: [[UInt8]] = []
    /// `namespace/name` of every pod, all Running: what a report must list.
    var pods: [String] = []
    var podImages: [String] = []
    var stalePods = 0
    var kinds: [Kind: Int] = [:]
    var namespaces: Int

    /// A stale workload runs its tag's previous digest, which the registry has deleted (the tag was
    /// re-pushed and garbage-collected): one distinct HEAD per stale tag for the dangling-pin sentinel.
    /// BENCH_STALE_DIGESTS=workload gives every stale workload its own deleted digest instead (the
    /// worst case: as many HEADs as stale workloads).
    static func staleDigest(tag: Tag, workload: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: deterministic across runs, unlike hashValue
        let seed = ProcessInfo.processInfo.environment["BENCH_STALE_DIGESTS"] == "workload" ? "\(tag.image)#\(workload)" : tag.image
        for byte in seed.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return "sha256:" + String(repeating: String(format: "%016llx", hash), count: 4)
    }
    /// Every other workload's pods pin their digest in the spec (`repo:tag@sha256:…`, as the webhook writes it).
    static func pinned(workload: Int) -> Bool { workload % 2 == 0 }

    init(pods count: Int, tags: [Tag], namespaces: Int, registry: String, user: String, password: String) {
        self.namespaces = namespaces
        for index in 0..<namespaces { add(Self.pullObjects(namespace: Self.namespace(index), registry: registry, user: user, password: password)) }
        // Nodes for the platform-coverage gate to list (two platforms, as a mixed cluster has).
        for (index, arch) in ["amd64", "arm64"].enumerated() {
            add([[
                "apiVersion": "v1", "kind": "Node",
                "metadata": ["name": "node-platform-\(index)", "labels": ["kubernetes.io/os": "linux", "kubernetes.io/arch": arch]],
                "status": ["nodeInfo": ["operatingSystem": "linux", "architecture": arch]],
            ]])
        }
        var workload = 0
        while pods.count < count {
            let kind = Kind.allCases[workload % Kind.allCases.count]
            let tag = tags[workload % tags.count]
            let stale = workload % 5 == 0
            let size = min(kind.podsPerWorkload, count - pods.count)
            addWorkload(kind, index: workload, namespace: Self.namespace(workload % namespaces), tag: tag, pods: size, stale: stale)
            kinds[kind, default: 0] += 1
            workload += 1
        }
    }

    static func namespace(_ index: Int) -> String { "team-\(index)" }

    private mutating func add(_ objects: [[String: Any]]) {
        for object in objects { self.objects.append(Array((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())) }
    }

    static func pullObjects(namespace: String, registry: String, user: String, password: String) -> [[String: Any]] {
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        let config = #"{"auths":{"\#(registry)":{"auth":"\#(auth)"}}}"#
        return [
            [
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                "metadata": ["name": "regcred", "namespace": namespace, "uid": "secret-\(namespace)"],
                "data": [".dockerconfigjson": Data(config.utf8).base64EncodedString()],
            ],
            [
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default", "namespace": namespace, "uid": "sa-\(namespace)"],
                "imagePullSecrets": [["name": "regcred"]],
            ],
        ]
    }

    // swiftlint:disable:next function_body_length
    private mutating func addWorkload(_ kind: Kind, index: Int, namespace: String, tag: Tag, pods size: Int, stale: Bool) {
        let name = "w\(index)"
        let uid = "uid-\(namespace)-\(name)"
        let labels = ["app": name]
        let template: [String: Any] = [
            "metadata": ["labels": labels],
            "spec": ["containers": [["name": "app", "image": tag.image, "imagePullPolicy": "IfNotPresent"]]],
        ]
        func meta(_ extra: [String: Any] = [:]) -> [String: Any] {
            ["name": name, "namespace": namespace, "uid": uid, "generation": 1, "resourceVersion": "1"].merging(extra) { _, new in new }
        }
        var owner: (apiVersion: String, kind: String, name: String, uid: String)?
        var podLabels = labels
        switch kind {
        case .deployment:
            add([
                [
                    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(),
                    "spec": ["replicas": size, "selector": ["matchLabels": labels], "template": template],
                    "status": ["observedGeneration": 1, "replicas": size, "updatedReplicas": size, "readyReplicas": size, "availableReplicas": size],
                ],
                [
                    "apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": [
                        "name": "\(name)-5d8f7c", "namespace": namespace, "uid": "\(uid)-rs", "generation": 1,
                        "ownerReferences": [["apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid, "controller": true]],
                    ],
                    "spec": ["replicas": size, "selector": ["matchLabels": labels], "template": template],
                    "status": ["replicas": size, "readyReplicas": size, "observedGeneration": 1],
                ],
            ])
            owner = ("apps/v1", "ReplicaSet", "\(name)-5d8f7c", "\(uid)-rs")
            podLabels["pod-template-hash"] = "5d8f7c"
        case .bareReplicaSet:
            add([[
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(),
                "spec": ["replicas": size, "selector": ["matchLabels": labels], "template": template],
                "status": ["replicas": size, "readyReplicas": size, "observedGeneration": 1],
            ]])
            owner = ("apps/v1", "ReplicaSet", name, uid)
        case .statefulSet, .statefulSetOnDelete:
            add([[
                "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta(),
                "spec": [
                    "replicas": size, "serviceName": name, "selector": ["matchLabels": labels], "template": template,
                    "updateStrategy": ["type": kind == .statefulSet ? "RollingUpdate" : "OnDelete"],
                ],
                "status": [
                    "observedGeneration": 1, "replicas": size, "readyReplicas": size, "updatedReplicas": size,
                    "currentRevision": "\(name)-7c9d", "updateRevision": "\(name)-7c9d",
                ],
            ]])
            owner = ("apps/v1", "StatefulSet", name, uid)
            podLabels["controller-revision-hash"] = "\(name)-7c9d"
        case .daemonSet, .daemonSetOnDelete:
            add([[
                "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(),
                "spec": ["selector": ["matchLabels": labels], "template": template, "updateStrategy": ["type": kind == .daemonSet ? "RollingUpdate" : "OnDelete"]],
                "status": ["observedGeneration": 1, "desiredNumberScheduled": size, "updatedNumberScheduled": size, "numberReady": size],
            ]])
            owner = ("apps/v1", "DaemonSet", name, uid)
            podLabels["controller-revision-hash"] = "6b7f9"
        case .job:
            owner = ("batch/v1", "Job", name, uid)
            podLabels["batch.kubernetes.io/job-name"] = name
        case .barePod:
            break
        }
        for replica in 0..<size {
            let podName = kind == .barePod ? name : "\(name)-\(replica)"
            var metadata: [String: Any] = [
                "name": podName, "namespace": namespace, "uid": "uid-\(namespace)-\(podName)", "resourceVersion": "1", "labels": podLabels,
                "creationTimestamp": "2026-11-20T10:00:00Z",
            ]
            if let owner {
                metadata["ownerReferences"] = [[
                    "apiVersion": owner.apiVersion, "kind": owner.kind, "name": owner.name, "uid": owner.uid, "controller": true, "blockOwnerDeletion": true,
                ]]
            }
            let running = stale ? Self.staleDigest(tag: tag, workload: index) : tag.digest
            var spec: [String: Any] = [
                "containers": [["name": "app", "image": Self.pinned(workload: index) ? "\(tag.image)@\(running)" : tag.image, "imagePullPolicy": "IfNotPresent"]],
                "nodeName": "node-\((index + replica) % 50)", "serviceAccountName": "default", "restartPolicy": "Always",
            ]
            if index % 2 == 1 { spec["imagePullSecrets"] = [["name": "regcred"]] }
            let pod: [String: Any] = [
                "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
                "status": [
                    "phase": "Running",
                    "conditions": [["type": "Ready", "status": "True"], ["type": "ContainersReady", "status": "True"]],
                    "containerStatuses": [[
                        "name": "app", "image": tag.image, "imageID": "\(tag.repository)@\(running)", "ready": true,
                        "restartCount": 0, "state": ["running": ["startedAt": "2026-11-20T10:00:05Z"]],
                    ]],
                ],
            ]
            add([pod])
            pods.append("\(namespace)/\(podName)")
            podImages.append(tag.image)
            if stale { stalePods += 1 }
        }
    }

    var kindSummary: String {
        Kind.allCases.map { "\($0) \(kinds[$0] ?? 0)" }.joined(separator: ", ")
    }
}
