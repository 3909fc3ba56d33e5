import Foundation
import KateNet
import KateKube

/// A container for the builders: name, image as in the spec, and the `imageID` its status reports
/// (nil: a deterministic fake digest in containerd form, see `KubeTestServer.imageID(for:)`).
public struct TestContainer: Sendable {
    public var name: String
    public var image: String
    public var imageID: String?
    /// "Always" makes an init container a native sidecar.
    public var restartPolicy: String?

    public init(name: String, image: String, imageID: String? = nil, restartPolicy: String? = nil) {
        self.name = name
        self.image = image
        self.imageID = imageID
        self.restartPolicy = restartPolicy
    }
}

/// What `addDeployment` stored, decoded.
public struct DeploymentObjects: Sendable {
    public var deployment: Deployment
    public var replicaSet: ReplicaSet
    public var pods: [Pod]
}

/// Options shared by the workload builders.
public struct PodOptions: Sendable {
    public var initContainers: [TestContainer] = []
    public var labels: [String: String] = [:]
    /// Pod-template annotations (e.g. `kate.dev/skip`), copied to each Pod.
    public var annotations: [String: String] = [:]
    public var serviceAccountName: String?
    public var imagePullSecrets: [String] = []
    public var nodeName = "node-a"
    public var phase = "Running"

    public init(
        initContainers: [TestContainer] = [], labels: [String: String] = [:], annotations: [String: String] = [:],
        serviceAccountName: String? = nil, imagePullSecrets: [String] = [], nodeName: String = "node-a", phase: String = "Running"
    ) {
        self.initContainers = initContainers
        self.labels = labels
        self.annotations = annotations
        self.serviceAccountName = serviceAccountName
        self.imagePullSecrets = imagePullSecrets
        self.nodeName = nodeName
        self.phase = phase
    }
}

extension KubeTestServer {
    /// A Deployment with one container, its ReplicaSet and `replicas` running Pods whose status
    /// reports `imageID` (nil: a fake digest for `image` in containerd form).
    ///
    /// ```swift
    /// let web = try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 3,
    ///                                    imageID: "docker.io/library/nginx@" + oldDigest)
    /// web.pods.count == 3; web.pods[0].metadata.controller?.name == web.replicaSet.metadata.name
    /// ```
    @discardableResult
    public func addDeployment(namespace: String = "default", name: String, image: String, replicas: Int = 1, imageID: String? = nil) throws -> DeploymentObjects {
        try addDeployment(namespace: namespace, name: name, containers: [TestContainer(name: Self.containerName(for: image), image: image, imageID: imageID)], replicas: replicas)
    }

    /// A Deployment → ReplicaSet → Pods chain with several containers and options (init
    /// containers/sidecars, labels, template annotations, pull secrets, paused).
    @discardableResult
    public func addDeployment(
        namespace: String = "default", name: String, containers: [TestContainer], replicas: Int = 1, options: PodOptions = PodOptions(),
        paused: Bool = false
    ) throws -> DeploymentObjects {
        let hash = Self.templateHash(namespace + "/" + name)
        let labels = options.labels.merging(["app": name]) { mine, _ in mine }
        let template = PodBuilder.template(containers: containers, options: options, labels: labels)
        var spec: JSONValue = .object([
            ("replicas", .int(replicas)), ("selector", .object([("matchLabels", JSONValue(stringMap: ["app": name]))])),
            ("strategy", .object([("type", .string("RollingUpdate"))])), ("template", template),
        ])
        if paused { spec["paused"] = .bool(true) }
        let status: JSONValue = .object([
            ("observedGeneration", .int(1)), ("replicas", .int(replicas)), ("updatedReplicas", .int(replicas)),
            ("readyReplicas", .int(replicas)), ("availableReplicas", .int(replicas)),
        ])
        let deployment = try put(PodBuilder.object(apiVersion: "apps/v1", kind: "Deployment", namespace: namespace, name: name, labels: ["app": name], spec: spec, status: status))
        let rsName = "\(name)-\(hash)"
        var rsTemplate = template
        rsTemplate[path: ["metadata", "labels", "pod-template-hash"]] = .string(hash)
        let rsSpec: JSONValue = .object([
            ("replicas", .int(replicas)),
            ("selector", .object([("matchLabels", JSONValue(stringMap: ["app": name, "pod-template-hash": hash]))])), ("template", rsTemplate),
        ])
        let rs = try put(PodBuilder.object(
            apiVersion: "apps/v1", kind: "ReplicaSet", namespace: namespace, name: rsName, labels: labels.merging(["pod-template-hash": hash]) { $1 },
            owner: PodBuilder.owner(deployment), spec: rsSpec,
            status: .object([("replicas", .int(replicas)), ("readyReplicas", .int(replicas)), ("availableReplicas", .int(replicas))])
        ))
        var pods: [Pod] = []
        pods.reserveCapacity(replicas)
        for index in 0..<replicas {
            let pod = try put(PodBuilder.pod(
                namespace: namespace, name: "\(rsName)-\(Self.podSuffix(index))", generateName: "\(rsName)-", template: rsTemplate,
                owner: PodBuilder.owner(rs), containers: containers, options: options
            ))
            pods.append(try Self.decode(pod))
        }
        return DeploymentObjects(deployment: try Self.decode(deployment), replicaSet: try Self.decode(rs), pods: pods)
    }

    /// A StatefulSet with `replicas` Pods named `<name>-0…`.
    @discardableResult
    public func addStatefulSet(
        namespace: String = "default", name: String, image: String, replicas: Int = 1, imageID: String? = nil, updateStrategy: String = "RollingUpdate"
    ) throws -> (statefulSet: StatefulSet, pods: [Pod]) {
        let containers = [TestContainer(name: Self.containerName(for: image), image: image, imageID: imageID)]
        let template = PodBuilder.template(containers: containers, options: PodOptions(), labels: ["app": name])
        let revision = "\(name)-\(Self.templateHash(name))"
        let spec: JSONValue = .object([
            ("replicas", .int(replicas)), ("serviceName", .string(name)), ("selector", .object([("matchLabels", JSONValue(stringMap: ["app": name]))])),
            ("template", template), ("updateStrategy", .object([("type", .string(updateStrategy))])),
        ])
        let status: JSONValue = .object([
            ("observedGeneration", .int(1)), ("replicas", .int(replicas)), ("readyReplicas", .int(replicas)), ("currentReplicas", .int(replicas)),
            ("updatedReplicas", .int(replicas)), ("currentRevision", .string(revision)), ("updateRevision", .string(revision)),
        ])
        let sts = try put(PodBuilder.object(apiVersion: "apps/v1", kind: "StatefulSet", namespace: namespace, name: name, labels: ["app": name], spec: spec, status: status))
        var pods: [Pod] = []
        for index in 0..<replicas {
            var podTemplate = template
            podTemplate[path: ["metadata", "labels", "controller-revision-hash"]] = .string(revision)
            let pod = try put(PodBuilder.pod(
                namespace: namespace, name: "\(name)-\(index)", generateName: "\(name)-", template: podTemplate, owner: PodBuilder.owner(sts),
                containers: containers, options: PodOptions()
            ))
            pods.append(try Self.decode(pod))
        }
        return (try Self.decode(sts), pods)
    }

    /// A DaemonSet with one Pod per node in `nodes`.
    @discardableResult
    public func addDaemonSet(
        namespace: String = "default", name: String, image: String, nodes: [String] = ["node-a"], imageID: String? = nil, updateStrategy: String = "RollingUpdate"
    ) throws -> (daemonSet: DaemonSet, pods: [Pod]) {
        let containers = [TestContainer(name: Self.containerName(for: image), image: image, imageID: imageID)]
        let template = PodBuilder.template(containers: containers, options: PodOptions(), labels: ["app": name])
        let spec: JSONValue = .object([
            ("selector", .object([("matchLabels", JSONValue(stringMap: ["app": name]))])), ("template", template),
            ("updateStrategy", .object([("type", .string(updateStrategy))])),
        ])
        let count = nodes.count
        let status: JSONValue = .object([
            ("observedGeneration", .int(1)), ("desiredNumberScheduled", .int(count)), ("currentNumberScheduled", .int(count)),
            ("updatedNumberScheduled", .int(count)), ("numberReady", .int(count)), ("numberAvailable", .int(count)),
        ])
        let ds = try put(PodBuilder.object(apiVersion: "apps/v1", kind: "DaemonSet", namespace: namespace, name: name, labels: ["app": name], spec: spec, status: status))
        var pods: [Pod] = []
        for (index, node) in nodes.enumerated() {
            let pod = try put(PodBuilder.pod(
                namespace: namespace, name: "\(name)-\(Self.podSuffix(index))", generateName: "\(name)-", template: template, owner: PodBuilder.owner(ds),
                containers: containers, options: PodOptions(nodeName: node)
            ))
            pods.append(try Self.decode(pod))
        }
        return (try Self.decode(ds), pods)
    }

    /// A Job owned by CronJob `cronJob` and its one running Pod (the CronJob object itself is not
    /// stored; kate only reads the Job's owner reference).
    @discardableResult
    public func addCronJobPod(namespace: String = "default", cronJob: String, image: String, imageID: String? = nil) throws -> (job: Job, pod: Pod) {
        let containers = [TestContainer(name: Self.containerName(for: image), image: image, imageID: imageID)]
        let jobName = "\(cronJob)-29401500"
        let cronOwner = OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: cronJob, uid: UUID().uuidString.lowercased(), controller: true, blockOwnerDeletion: true)
        let template = PodBuilder.template(containers: containers, options: PodOptions(), labels: ["job-name": jobName])
        let job = try put(PodBuilder.object(
            apiVersion: "batch/v1", kind: "Job", namespace: namespace, name: jobName, labels: ["job-name": jobName], owner: cronOwner,
            spec: .object([("template", template)]), status: .object([("active", .int(1))])
        ))
        let pod = try put(PodBuilder.pod(
            namespace: namespace, name: "\(jobName)-\(Self.podSuffix(0))", generateName: "\(jobName)-", template: template, owner: PodBuilder.owner(job),
            containers: containers, options: PodOptions()
        ))
        return (try Self.decode(job), try Self.decode(pod))
    }

    /// A Pod with no controller (or with `owner` as its controller reference).
    @discardableResult
    public func addPod(
        namespace: String = "default", name: String, containers: [TestContainer], options: PodOptions = PodOptions(), owner: OwnerReference? = nil
    ) throws -> Pod {
        let template = PodBuilder.template(containers: containers, options: options, labels: options.labels)
        return try Self.decode(try put(PodBuilder.pod(namespace: namespace, name: name, generateName: nil, template: template, owner: owner, containers: containers, options: options)))
    }

    @discardableResult
    public func addServiceAccount(namespace: String = "default", name: String, imagePullSecrets: [String] = []) throws -> ServiceAccount {
        var object = PodBuilder.object(apiVersion: "v1", kind: "ServiceAccount", namespace: namespace, name: name, labels: [:])
        if !imagePullSecrets.isEmpty { object["imagePullSecrets"] = .array(imagePullSecrets.map { .object([("name", .string($0))]) }) }
        return try Self.decode(try put(object))
    }

    /// A `kubernetes.io/dockerconfigjson` Secret holding one registry login, encoded as
    /// `kubectl create secret docker-registry` writes it.
    @discardableResult
    public func addDockerConfigSecret(namespace: String = "default", name: String, registry: String, username: String, password: String) throws -> Secret {
        let auth = Base64.encode("\(username):\(password)")
        let config: JSONValue = .object([("auths", .object([(registry, .object([
            ("username", .string(username)), ("password", .string(password)), ("auth", .string(auth)),
        ]))]))])
        var object = PodBuilder.object(apiVersion: "v1", kind: "Secret", namespace: namespace, name: name, labels: [:])
        object["type"] = .string("kubernetes.io/dockerconfigjson")
        object["data"] = .object([(".dockerconfigjson", .string(Base64.encode(config.serialized())))])
        return try Self.decode(try put(object))
    }

    /// A Ready Node on `os`/`architecture`, labelled and described as the kubelet registers one.
    @discardableResult
    public func addNode(_ name: String, os: String = "linux", architecture: String = "amd64", labels: [String: String] = [:]) throws -> Node {
        let wellKnown = ["kubernetes.io/os": os, "kubernetes.io/arch": architecture, "kubernetes.io/hostname": name]
        var object = PodBuilder.object(apiVersion: "v1", kind: "Node", namespace: nil, name: name, labels: labels.merging(wellKnown) { mine, _ in mine })
        object["status"] = .object([
            ("conditions", .array([.object([("type", .string("Ready")), ("status", .string("True"))])])),
            ("nodeInfo", .object([
                ("operatingSystem", .string(os)), ("architecture", .string(architecture)), ("kubeletVersion", .string("v1.31.0")),
                ("kubeProxyVersion", .string("v1.31.0")), ("containerRuntimeVersion", .string("containerd://1.7.22")),
                ("kernelVersion", .string("6.1.0")), ("osImage", .string("Debian GNU/Linux 12 (bookworm)")),
                ("machineID", .string("\(name)-machine")), ("systemUUID", .string("\(name)-uuid")), ("bootID", .string("\(name)-boot")),
            ])),
        ])
        return try Self.decode(try put(object))
    }

    @discardableResult
    public func addNamespace(_ name: String, labels: [String: String] = [:]) throws -> Namespace {
        var object = PodBuilder.object(apiVersion: "v1", kind: "Namespace", namespace: nil, name: name, labels: labels.merging(["kubernetes.io/metadata.name": name]) { mine, _ in mine })
        object["status"] = .object([("phase", .string("Active"))])
        return try Self.decode(try put(object))
    }

    // MARK: - Image IDs

    /// What containerd reports for `image` running `digest`: the fully qualified repository plus the
    /// digest (`docker.io/library/nginx@sha256:…`).
    public static func containerdImageID(image: String, digest: String) -> String { "\(canonicalRepository(image))@\(digest)" }

    /// What dockershim / cri-dockerd reports: `docker-pullable://` and the familiar name (`nginx@sha256:…`).
    public static func dockerImageID(image: String, digest: String) -> String {
        var repository = canonicalRepository(image)
        if repository.hasPrefix("docker.io/library/") { repository.removeFirst("docker.io/library/".count) } else if repository.hasPrefix("docker.io/") {
            repository.removeFirst("docker.io/".count)
        }
        return "docker-pullable://\(repository)@\(digest)"
    }

    /// The default imageID for `image`: containerd form with `fakeDigest(for: image)`.
    public static func imageID(for image: String) -> String { containerdImageID(image: image, digest: fakeDigest(for: image)) }

    /// A deterministic `sha256:<64 hex>` for a string; not a real content digest.
    public static func fakeDigest(for text: String) -> String {
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { state = (state ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var hex = ""
        for _ in 0..<4 {
            // SplitMix64 steps stretch the FNV-1a seed to 256 bits.
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            let part = String(z, radix: 16)
            hex += String(repeating: "0", count: 16 - part.count) + part
        }
        return "sha256:" + hex
    }

    /// `nginx:1.27` → `docker.io/library/nginx`; `ghcr.io/o/a:1@sha256:…` → `ghcr.io/o/a`.
    static func canonicalRepository(_ image: String) -> String {
        var name = image
        if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
        if let slash = name.lastIndex(of: "/"), let colon = name.lastIndex(of: ":"), colon > slash { name = String(name[..<colon]) } else if !name.contains("/"), let colon = name.firstIndex(of: ":") {
            name = String(name[..<colon])
        }
        let first = name.split(separator: "/").first.map(String.init) ?? name
        let hasDomain = name.contains("/") && (first.contains(".") || first.contains(":") || first == "localhost")
        if hasDomain { return name }
        return name.contains("/") ? "docker.io/\(name)" : "docker.io/library/\(name)"
    }

    static func containerName(for image: String) -> String {
        let repository = canonicalRepository(image)
        let last = repository.split(separator: "/").last.map(String.init) ?? "app"
        return last.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" }
    }

    /// A pod-template-hash-like string (10 chars from the apiserver's alphabet).
    static func templateHash(_ seed: String) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        let digest = fakeDigest(for: seed).dropFirst(7)
        return String(digest.prefix(10).map { alphabet[Int($0.hexDigitValue ?? 0) % alphabet.count] })
    }

    static func podSuffix(_ index: Int) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        var value = index, suffix = ""
        for _ in 0..<5 {
            suffix.append(alphabet[value % alphabet.count])
            value /= alphabet.count
        }
        return suffix
    }

    static func decode<T: Decodable>(_ object: JSONValue) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(object.serialized()))
    }
}
