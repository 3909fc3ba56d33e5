import KateKube

/// Reads the parts of a Pod admission uses into KateKube's `Pod` model (array order kept, as
/// JSON Patch paths need), skipping every other field.
extension JSONReader {
    mutating func readPod() throws(Failure) -> Pod {
        var metadata: ObjectMeta?
        var spec: PodSpec?
        var apiVersion: String?, kind: String?
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "apiVersion": apiVersion = try reader.readOptionalString()
            case "kind": kind = try reader.readOptionalString()
            case "metadata": if try !reader.consumeNull() { metadata = try reader.readObjectMeta() }
            case "spec": if try !reader.consumeNull() { spec = try reader.readPodSpec() }
            default: try reader.skipValue()
            }
        }
        guard let spec else { throw failure("pod has no spec") }
        // kube-apiserver always sends metadata; without it there is no parent for the annotation
        // ops, and a patch that cannot apply fails the user's request even under failurePolicy
        // Ignore. Such a Pod is left to the apiserver's validation (found by fuzz-admission).
        guard let metadata else { throw failure("pod has no metadata") }
        return Pod(apiVersion: apiVersion, kind: kind, metadata: metadata, spec: spec)
    }

    mutating func readObjectMeta() throws(Failure) -> ObjectMeta {
        var meta = ObjectMeta()
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "name": meta.name = try reader.readOptionalString()
            case "generateName": meta.generateName = try reader.readOptionalString()
            case "namespace": meta.namespace = try reader.readOptionalString()
            case "uid": meta.uid = try reader.readOptionalString()
            case "labels": meta.labels = try reader.readStringMap()
            case "annotations": meta.annotations = try reader.readStringMap()
            case "ownerReferences":
                if try reader.consumeNull() { return }
                var owners: [OwnerReference] = []
                try reader.readArray { (reader: inout JSONReader) throws(Failure) in owners.append(try reader.readOwnerReference()) }
                meta.ownerReferences = owners
            default: try reader.skipValue()
            }
        }
        return meta
    }

    private mutating func readOwnerReference() throws(Failure) -> OwnerReference {
        var apiVersion = "", kind = "", name = "", uid = ""
        var controller: Bool?, blockOwnerDeletion: Bool?
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "apiVersion": apiVersion = try reader.readOptionalString() ?? ""
            case "kind": kind = try reader.readOptionalString() ?? ""
            case "name": name = try reader.readOptionalString() ?? ""
            case "uid": uid = try reader.readOptionalString() ?? ""
            case "controller": controller = try reader.consumeNull() ? nil : try reader.readBool()
            case "blockOwnerDeletion": blockOwnerDeletion = try reader.consumeNull() ? nil : try reader.readBool()
            default: try reader.skipValue()
            }
        }
        return OwnerReference(apiVersion: apiVersion, kind: kind, name: name, uid: uid, controller: controller, blockOwnerDeletion: blockOwnerDeletion)
    }

    private mutating func readPodSpec() throws(Failure) -> PodSpec {
        var spec = PodSpec(containers: [])
        var sawContainers = false
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            switch key {
            case "containers":
                sawContainers = true
                spec.containers = try reader.readContainers(key.description) ?? []
            case "initContainers": spec.initContainers = try reader.readContainers(key.description)
            case "ephemeralContainers": spec.ephemeralContainers = try reader.readContainers(key.description)
            case "serviceAccountName": spec.serviceAccountName = try reader.readOptionalString()
            case "nodeName": spec.nodeName = try reader.readOptionalString()
            case "restartPolicy": spec.restartPolicy = try reader.readOptionalString()
            case "imagePullSecrets":
                if try reader.consumeNull() { return }
                var secrets: [LocalObjectReference] = []
                try reader.readArray { (reader: inout JSONReader) throws(Failure) in
                    var name = ""
                    try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                        if key == "name" { name = try reader.readOptionalString() ?? "" } else { try reader.skipValue() }
                    }
                    secrets.append(LocalObjectReference(name: name))
                }
                spec.imagePullSecrets = secrets
            case "volumes": spec.volumes = try reader.readVolumes()
            case "nodeSelector": spec.nodeSelector = try reader.readStringMap()
            case "affinity": spec.affinity = try reader.readNodeAffinity()
            default: try reader.skipValue()
            }
        }
        guard sawContainers else { throw failure("pod spec has no containers") }
        return spec
    }

    /// `affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution` only (the platform gate's input).
    private mutating func readNodeAffinity() throws(Failure) -> Affinity? {
        if try consumeNull() { return nil }
        var terms: [Affinity.Term]?
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            guard key == "nodeAffinity", try !reader.consumeNull() else { return try reader.skipValue() }
            try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                guard key == "requiredDuringSchedulingIgnoredDuringExecution", try !reader.consumeNull() else { return try reader.skipValue() }
                try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                    guard key == "nodeSelectorTerms", try !reader.consumeNull() else { return try reader.skipValue() }
                    var list: [Affinity.Term] = []
                    try reader.readArray { (reader: inout JSONReader) throws(Failure) in list.append(try reader.readNodeSelectorTerm()) }
                    terms = list
                }
            }
        }
        guard let terms else { return Affinity() }
        return Affinity(nodeAffinity: .init(required: .init(terms: terms)))
    }

    private mutating func readNodeSelectorTerm() throws(Failure) -> Affinity.Term {
        var expressions: [Affinity.Requirement] = []
        try readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
            guard key == "matchExpressions", try !reader.consumeNull() else { return try reader.skipValue() }
            try reader.readArray { (reader: inout JSONReader) throws(Failure) in
                var label = "", op = "", values: [String]?
                try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                    switch key {
                    case "key": label = try reader.readOptionalString() ?? ""
                    case "operator": op = try reader.readOptionalString() ?? ""
                    case "values":
                        if try reader.consumeNull() { return }
                        var list: [String] = []
                        try reader.readArray { (reader: inout JSONReader) throws(Failure) in list.append(try reader.readString()) }
                        values = list
                    default: try reader.skipValue()
                    }
                }
                expressions.append(Affinity.Requirement(key: label, operator: op, values: values))
            }
        }
        return Affinity.Term(matchExpressions: expressions)
    }

    /// Every volume's name, and the image of image volumes; the rest of each volume is skipped.
    private mutating func readVolumes() throws(Failure) -> [Volume]? {
        if try consumeNull() { return nil }
        var volumes: [Volume] = []
        try readArray { (reader: inout JSONReader) throws(Failure) in
            var volume = Volume(name: "")
            try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                switch key {
                case "name": volume.name = try reader.readOptionalString() ?? ""
                case "image":
                    if try reader.consumeNull() { return }
                    var source = ImageVolumeSource(reference: nil)
                    try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                        switch key {
                        case "reference": source.reference = try reader.readOptionalString()
                        case "pullPolicy": source.pullPolicy = try reader.readOptionalString()
                        default: try reader.skipValue()
                        }
                    }
                    volume.image = source
                default: try reader.skipValue()
                }
            }
            volumes.append(volume)
        }
        return volumes
    }

    private mutating func readContainers(_ field: String) throws(Failure) -> [Container]? {
        if try consumeNull() { return nil }
        var containers: [Container] = []
        try readArray { (reader: inout JSONReader) throws(Failure) in
            var name: String?, image: String?, pullPolicy: String?, restartPolicy: String?
            try reader.readObject { (reader: inout JSONReader, key: Key) throws(Failure) in
                switch key {
                case "name": name = try reader.readOptionalString()
                case "image": image = try reader.readOptionalString()
                case "imagePullPolicy": pullPolicy = try reader.readOptionalString()
                case "restartPolicy": restartPolicy = try reader.readOptionalString()
                default: try reader.skipValue()
                }
            }
            guard let name else { throw reader.failure("spec.\(field)[\(containers.count)] has no name") }
            containers.append(Container(name: name, image: image, imagePullPolicy: pullPolicy, restartPolicy: restartPolicy))
        }
        return containers
    }
}
