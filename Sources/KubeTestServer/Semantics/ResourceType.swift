/// A kind the test server serves: where it lives in the URL space and what its objects are called.
public struct ResourceType: Sendable, Hashable {
    /// API group ("" for core, "apps", "batch", "events.k8s.io").
    public let group: String
    public let version: String
    /// Plural resource name in URLs and RBAC rules.
    public let resource: String
    public let kind: String
    public let namespaced: Bool

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// How the apiserver names the resource in messages: `pods`, `deployments.apps`.
    public var qualifiedResource: String { group.isEmpty ? resource : "\(resource).\(group)" }

    /// Fields the apiserver accepts in a fieldSelector for this kind.
    public var selectableFields: Set<String> {
        var fields: Set<String> = ["metadata.name", "metadata.namespace"]
        if resource == "pods" { fields.formUnion(["status.phase", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"]) }
        if resource == "secrets" { fields.insert("type") }
        if self == .coreEvents {
            fields.formUnion(EventConversion.coreSelectableFields)
        } else if self == .events {
            fields.formUnion(EventConversion.eventsSelectableFields)
        }
        return fields
    }

    public static let pods = ResourceType(group: "", version: "v1", resource: "pods", kind: "Pod", namespaced: true)
    public static let namespaces = ResourceType(group: "", version: "v1", resource: "namespaces", kind: "Namespace", namespaced: false)
    public static let serviceAccounts = ResourceType(group: "", version: "v1", resource: "serviceaccounts", kind: "ServiceAccount", namespaced: true)
    public static let secrets = ResourceType(group: "", version: "v1", resource: "secrets", kind: "Secret", namespaced: true)
    public static let deployments = ResourceType(group: "apps", version: "v1", resource: "deployments", kind: "Deployment", namespaced: true)
    public static let replicaSets = ResourceType(group: "apps", version: "v1", resource: "replicasets", kind: "ReplicaSet", namespaced: true)
    public static let statefulSets = ResourceType(group: "apps", version: "v1", resource: "statefulsets", kind: "StatefulSet", namespaced: true)
    public static let daemonSets = ResourceType(group: "apps", version: "v1", resource: "daemonsets", kind: "DaemonSet", namespaced: true)
    public static let jobs = ResourceType(group: "batch", version: "v1", resource: "jobs", kind: "Job", namespaced: true)
    public static let cronJobs = ResourceType(group: "batch", version: "v1", resource: "cronjobs", kind: "CronJob", namespaced: true)
    public static let events = ResourceType(group: "events.k8s.io", version: "v1", resource: "events", kind: "Event", namespaced: true)
    /// The same Events through the core API (`kubectl describe` reads these): one store entry per
    /// event in each, converted on write as the apiserver converts between the two versions.
    public static let coreEvents = ResourceType(group: "", version: "v1", resource: "events", kind: "Event", namespaced: true)
    /// Cluster-scoped; `status.nodeInfo` and the `kubernetes.io/os|arch` labels are what kate reads.
    public static let nodes = ResourceType(group: "", version: "v1", resource: "nodes", kind: "Node", namespaced: false)
    public static let podDisruptionBudgets = ResourceType(group: "policy", version: "v1", resource: "poddisruptionbudgets", kind: "PodDisruptionBudget", namespaced: true)

    /// Argo Rollouts' CRD (argoproj.io/v1alpha1): a Deployment-like owner of ReplicaSets, restarted through `spec.restartAt`.
    public static let rollouts = ResourceType(group: "argoproj.io", version: "v1alpha1", resource: "rollouts", kind: "Rollout", namespaced: true)

    public static let all: [ResourceType] = [
        .pods, .namespaces, .serviceAccounts, .secrets, .deployments, .replicaSets, .statefulSets, .daemonSets, .jobs, .cronJobs, .events,
        .podDisruptionBudgets, .coreEvents, .nodes, .rollouts,
        .leases, .imageTagHistories, // coordination.k8s.io and kate.dev (Semantics/Leases.swift, Semantics/KateResources.swift)
    ]

    /// Kinds with a `/status` subresource: there a write changes only `.status`, while a write to
    /// the object itself leaves `.status` as it was (the registry strategies' PrepareForUpdate).
    public var hasStatus: Bool { ![ResourceType.serviceAccounts, .secrets, .events, .coreEvents, .leases, .imageTagHistories].contains(self) }

    /// Short names kubectl accepts (`po`, `deploy`), as discovery announces them.
    var shortNames: [String] {
        switch resource {
        case "pods": ["po"]
        case "namespaces": ["ns"]
        case "serviceaccounts": ["sa"]
        case "deployments": ["deploy"]
        case "replicasets": ["rs"]
        case "statefulsets": ["sts"]
        case "daemonsets": ["ds"]
        case "cronjobs": ["cj"]
        case "events": ["ev"]
        case "poddisruptionbudgets": ["pdb"]
        case "nodes": ["no"]
        case "rollouts": ["ro"]
        case "imagetaghistories": ["ith"]
        default: []
        }
    }

    /// Looks a kind up by `apiVersion` + `kind`, as found in an object body.
    public static func forObject(apiVersion: String, kind: String) -> ResourceType? {
        all.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    static func forURL(group: String, version: String, resource: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.resource == resource }
    }
}
