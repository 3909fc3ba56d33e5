/// The workload kinds kate patches.
public enum WorkloadKind: String, Sendable, CaseIterable {
    case deployment = "Deployment"
    case statefulSet = "StatefulSet"
    case daemonSet = "DaemonSet"
    case replicaSet = "ReplicaSet"

    /// The plural resource name in `apps/v1` URLs and RBAC rules.
    public var resource: String {
        switch self {
        case .deployment: "deployments"
        case .statefulSet: "statefulsets"
        case .daemonSet: "daemonsets"
        case .replicaSet: "replicasets"
        }
    }

    /// `kubectl rollout restart` supports these three; a ReplicaSet has no rollout.
    public var supportsRolloutRestart: Bool { self != .replicaSet }

    public init?(kind: String) { self.init(rawValue: kind) }
}

/// Content types the API accepts for PATCH.
public enum PatchType: String, Sendable {
    /// Lists of named items (containers) merge by key; what kubectl sends for built-in types.
    case strategicMerge = "application/strategic-merge-patch+json"
    /// RFC 7386: objects merge, arrays replace.
    case merge = "application/merge-patch+json"
}

/// Where a kind lives in the API: `/api/v1` or `/apis/<group>/<version>`, and its plural.
public struct ResourcePath: Sendable, Equatable {
    public var prefix: String
    public var resource: String

    public init(prefix: String, resource: String) {
        self.prefix = prefix
        self.resource = resource
    }

    /// `/apis/<group>/<version>` (`/api/v1` for the core group "").
    public init(group: String, version: String, resource: String) {
        self.init(prefix: group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)", resource: resource)
    }

    static let pods = ResourcePath(prefix: "/api/v1", resource: "pods")
    static let namespaces = ResourcePath(prefix: "/api/v1", resource: "namespaces")
    static let serviceAccounts = ResourcePath(prefix: "/api/v1", resource: "serviceaccounts")
    static let secrets = ResourcePath(prefix: "/api/v1", resource: "secrets")
    static let jobs = ResourcePath(prefix: "/apis/batch/v1", resource: "jobs")
    static let events = ResourcePath(prefix: "/apis/events.k8s.io/v1", resource: "events")
    static func workload(_ kind: WorkloadKind) -> ResourcePath { ResourcePath(prefix: "/apis/apps/v1", resource: kind.resource) }

    /// `/apis/apps/v1/namespaces/shop/deployments/web`, or the cluster-wide list path without a namespace.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = prefix
        if let namespace { path += "/namespaces/" + PercentEncoding.pathSegment(namespace) }
        path += "/" + resource
        if let name { path += "/" + PercentEncoding.pathSegment(name) }
        if let subresource { path += "/" + subresource }
        return path
    }
}

enum PercentEncoding {
    /// Object names are DNS labels in practice, but a bad input must not change the path's shape.
    static func pathSegment(_ value: String) -> String {
        encode(value, keeping: "-._~")
    }

    /// Query values: selectors contain `=`, `!`, `,`, `(`, spaces; all are encoded.
    static func queryValue(_ value: String) -> String {
        encode(value, keeping: "-._~")
    }

    private static func encode(_ value: String, keeping safe: String) -> String {
        var out = ""
        for byte in value.utf8 {
            let scalar = Unicode.Scalar(byte)
            if (byte < 0x80 && (scalar.properties.isAlphabetic || ("0"..."9").contains(Character(scalar)))) || safe.utf8.contains(byte) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
