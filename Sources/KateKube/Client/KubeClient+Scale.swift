import Foundation
import KateNet

/// The `autoscaling/v1` Scale subresource: the generic "how many replicas does this object want" that the HPA
/// reads, served for ReplicaSets, StatefulSets, Deployments, ReplicationControllers and any custom resource whose
/// CRD declares `subresources.scale`.
public struct Scale: Codable, Sendable, Equatable {
    public struct Spec: Codable, Sendable, Equatable {
        public var replicas: Int?
    }
    public struct Status: Codable, Sendable, Equatable {
        public var replicas: Int?
    }
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?
}

/// One group version's resources (`GET /apis/<group>/<version>`): what maps an owner reference's kind to the
/// plural in its URL, and says whether `<plural>/scale` exists.
public struct APIResourceList: Codable, Sendable, Equatable {
    public struct Resource: Codable, Sendable, Equatable {
        /// `clusters`, or `clusters/scale` for a subresource.
        public var name: String
        public var kind: String
        public var namespaced: Bool?
    }
    public var groupVersion: String?
    public var resources: [Resource]
}

extension KubeClient {
    /// GET `<resource>/<name>/scale` (RBAC: `get` on `<resource>/scale`).
    public func getScale(_ resource: ResourcePath, namespace: String, name: String) async throws -> Scale {
        let call = Call(
            method: "GET", path: resource.path(namespace: namespace, name: name, subresource: "scale"), verb: "get",
            resource: resource.resource + "/scale", namespace: namespace, name: name)
        return try decode(Scale.self, try await perform(call), call)
    }

    /// Discovery of one group version (`/api/v1` for the core group ""); every authenticated user may read it
    /// (the default `system:discovery` ClusterRole), so it needs no rule of kate's own.
    public func getAPIResources(group: String, version: String) async throws -> APIResourceList {
        let path = ResourcePath(group: group, version: version, resource: "").prefix
        let call = Call(method: "GET", path: path, verb: "get", resource: "discovery", namespace: nil, name: group.isEmpty ? version : "\(group)/\(version)")
        return try decode(APIResourceList.self, try await perform(call), call)
    }
}
