import KateKube

/// JSON shapes for the builders: objects, Pod templates and Pods with statuses, as the
/// controllers and the kubelet would have written them.
enum PodBuilder {
    static func object(
        apiVersion: String, kind: String, namespace: String?, name: String, labels: [String: String], owner: OwnerReference? = nil,
        spec: JSONValue? = nil, status: JSONValue? = nil
    ) -> JSONValue {
        var metadata: JSONValue = .object([("name", .string(name))])
        if let namespace { metadata["namespace"] = .string(namespace) }
        if !labels.isEmpty { metadata["labels"] = JSONValue(stringMap: labels) }
        if let owner { metadata["ownerReferences"] = .array([ownerJSON(owner)]) }
        var object: JSONValue = .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", metadata)])
        if let spec { object["spec"] = spec }
        if let status { object["status"] = status }
        return object
    }

    static func owner(_ object: JSONValue) -> OwnerReference {
        OwnerReference(
            apiVersion: object["apiVersion"]?.stringValue ?? "", kind: object["kind"]?.stringValue ?? "",
            name: object[path: ["metadata", "name"]]?.stringValue ?? "", uid: object[path: ["metadata", "uid"]]?.stringValue ?? "",
            controller: true, blockOwnerDeletion: true
        )
    }

    static func ownerJSON(_ owner: OwnerReference) -> JSONValue {
        .object([
            ("apiVersion", .string(owner.apiVersion)), ("kind", .string(owner.kind)), ("name", .string(owner.name)), ("uid", .string(owner.uid)),
            ("controller", .bool(owner.controller ?? true)), ("blockOwnerDeletion", .bool(owner.blockOwnerDeletion ?? true)),
        ])
    }

    static func container(_ container: TestContainer) -> JSONValue {
        var json: JSONValue = .object([
            ("name", .string(container.name)), ("image", .string(container.image)), ("imagePullPolicy", .string("IfNotPresent")),
            ("resources", .object([])), ("terminationMessagePath", .string("/dev/termination-log")), ("terminationMessagePolicy", .string("File")),
        ])
        if let policy = container.restartPolicy { json["restartPolicy"] = .string(policy) }
        return json
    }

    static func template(containers: [TestContainer], options: PodOptions, labels: [String: String]) -> JSONValue {
        var metadata: JSONValue = .object([("creationTimestamp", .null)])
        if !labels.isEmpty { metadata["labels"] = JSONValue(stringMap: labels) }
        if !options.annotations.isEmpty { metadata["annotations"] = JSONValue(stringMap: options.annotations) }
        var spec: JSONValue = .object([("containers", .array(containers.map(container)))])
        if !options.initContainers.isEmpty { spec["initContainers"] = .array(options.initContainers.map(container)) }
        spec["dnsPolicy"] = .string("ClusterFirst")
        spec["restartPolicy"] = .string("Always")
        spec["schedulerName"] = .string("default-scheduler")
        if let account = options.serviceAccountName { spec["serviceAccountName"] = .string(account) }
        if !options.imagePullSecrets.isEmpty { spec["imagePullSecrets"] = .array(options.imagePullSecrets.map { .object([("name", .string($0))]) }) }
        spec["terminationGracePeriodSeconds"] = .int(30)
        return .object([("metadata", metadata), ("spec", spec)])
    }

    static func containerStatus(_ container: TestContainer, index: Int, pod: String) -> JSONValue {
        .object([
            ("containerID", .string("containerd://" + KubeTestServer.fakeDigest(for: pod + container.name).dropFirst(7))),
            ("image", .string(statusImage(container.image))),
            ("imageID", .string(container.imageID ?? KubeTestServer.imageID(for: container.image))),
            ("lastState", .object([])), ("name", .string(container.name)), ("ready", .bool(true)), ("restartCount", .int(0)), ("started", .bool(true)),
            ("state", .object([("running", .object([("startedAt", .string("2026-11-20T09:14:07Z"))]))])),
        ])
    }

    /// The runtime's view of the image: the fully qualified repository and the tag, if any.
    static func statusImage(_ image: String) -> String {
        let repository = KubeTestServer.canonicalRepository(image)
        let name = image.split(separator: "@").first.map(String.init) ?? image
        let last = name.split(separator: "/").last.map(String.init) ?? name
        guard let colon = last.firstIndex(of: ":") else { return repository }
        return repository + ":" + last[last.index(after: colon)...]
    }

    static func pod(
        namespace: String, name: String, generateName: String?, template: JSONValue, owner: OwnerReference?, containers: [TestContainer], options: PodOptions
    ) -> JSONValue {
        var metadata = template["metadata"] ?? .object([])
        metadata["creationTimestamp"] = nil
        metadata["name"] = .string(name)
        if let generateName { metadata["generateName"] = .string(generateName) }
        metadata["namespace"] = .string(namespace)
        if let owner { metadata["ownerReferences"] = .array([ownerJSON(owner)]) }
        var spec = template["spec"] ?? .object([])
        spec["nodeName"] = .string(options.nodeName)
        spec["serviceAccountName"] = .string(options.serviceAccountName ?? "default")
        var status: JSONValue = .object([("phase", .string(options.phase))])
        status["containerStatuses"] = .array(containers.enumerated().map { containerStatus($1, index: $0, pod: name) })
        if !options.initContainers.isEmpty {
            status["initContainerStatuses"] = .array(options.initContainers.enumerated().map { containerStatus($1, index: $0, pod: name) })
        }
        let octet = Int(KubeTestServer.fakeDigest(for: namespace + name).suffix(2), radix: 16) ?? 0
        status["podIP"] = .string("10.244.\(options.nodeName.count % 8).\(octet)")
        status["qosClass"] = .string("BestEffort")
        return .object([("apiVersion", .string("v1")), ("kind", .string("Pod")), ("metadata", metadata), ("spec", spec), ("status", status)])
    }
}
