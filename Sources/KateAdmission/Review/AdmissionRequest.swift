import KateKube

/// `{group, version, kind}` as the apiserver writes it; the core group is the empty string.
public struct GroupVersionKind: Sendable, Equatable {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String = "", version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }
}

/// The `request` of an AdmissionReview (admission.k8s.io/v1 and v1beta1 share these fields),
/// read by `AdmissionReviewDecoder`.
///
/// `object`/`oldObject` are kept only when `kind` is the core Pod; a Pod kate cannot read is
/// recorded in `podDecodingProblem` instead of failing the review, because mutating admission
/// runs before validation: the apiserver's own validation reports a broken Pod better than a
/// webhook error would.
public struct AdmissionRequest: Sendable {
    public var uid: String
    public var kind: GroupVersionKind
    public var subResource: String?
    public var name: String?
    public var namespace: String?
    public var operation: String
    /// Always present in requests from the apiserver; absent counts as false.
    public var dryRun: Bool
    public var userName: String?
    public var object: Pod?
    public var oldObject: Pod?
    public var podDecodingProblem: String?

    public var isPod: Bool { kind.group.isEmpty && kind.kind == "Pod" }

    public init(
        uid: String, kind: GroupVersionKind = .init(version: "v1", kind: "Pod"), subResource: String? = nil,
        name: String? = nil, namespace: String?, operation: String, dryRun: Bool = false, userName: String? = nil,
        object: Pod?, oldObject: Pod? = nil
    ) {
        self.uid = uid
        self.kind = kind
        self.subResource = subResource
        self.name = name
        self.namespace = namespace
        self.operation = operation
        self.dryRun = dryRun
        self.userName = userName
        self.object = object
        self.oldObject = oldObject
    }

    /// What the log line calls the pod: its name, or `generateName*` for controller-made pods
    /// (they arrive on CREATE with an empty name).
    public var podDisplayName: String {
        if let name, !name.isEmpty { return name }
        if let meta = object?.metadata {
            if let name = meta.name, !name.isEmpty { return name }
            if let generate = meta.generateName, !generate.isEmpty { return generate + "*" }
        }
        return "<unnamed>"
    }
}
