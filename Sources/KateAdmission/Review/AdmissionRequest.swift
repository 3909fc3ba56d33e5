import Foundation
import KateKube

/// `{group, version, kind}` as the apiserver writes it; the core group is the empty string.
public struct GroupVersionKind: Decodable, Sendable, Equatable {
    public var group: String
    public var version: String
    public var kind: String

    public init(group: String = "", version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }

    private enum CodingKeys: String, CodingKey { case group, version, kind }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        group = try c.decodeIfPresent(String.self, forKey: .group) ?? ""
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        kind = try c.decode(String.self, forKey: .kind)
    }
}

/// The `request` of an AdmissionReview (admission.k8s.io/v1 and v1beta1 share these fields).
///
/// `object`/`oldObject` are decoded into KateKube's `Pod` only when `kind` is the core Pod; a Pod
/// kate cannot read is recorded in `podDecodingProblem` instead of failing the review, because
/// mutating admission runs before validation: the apiserver's own validation reports a broken
/// Pod better than a webhook error would.
public struct AdmissionRequest: Decodable, Sendable {
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

    private enum CodingKeys: String, CodingKey {
        case uid, kind, subResource, name, namespace, operation, dryRun, userInfo, object, oldObject
    }

    private struct UserInfo: Decodable { var username: String? }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uid = try c.decode(String.self, forKey: .uid)
        kind = try c.decode(GroupVersionKind.self, forKey: .kind)
        subResource = try c.decodeIfPresent(String.self, forKey: .subResource)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        namespace = try c.decodeIfPresent(String.self, forKey: .namespace)
        operation = try c.decode(String.self, forKey: .operation)
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
        userName = (try? c.decodeIfPresent(UserInfo.self, forKey: .userInfo))?.username
        guard kind.group.isEmpty && kind.kind == "Pod" else { return }
        do {
            object = try c.decodeIfPresent(Pod.self, forKey: .object)
            oldObject = try c.decodeIfPresent(Pod.self, forKey: .oldObject)
        } catch {
            object = nil
            oldObject = nil
            podDecodingProblem = ReviewDecodingError.describe(error)
        }
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
