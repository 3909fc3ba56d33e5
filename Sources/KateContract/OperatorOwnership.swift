/// Whether a pod is managed by an operator (a controller kate does not know) rather than by one of Kubernetes'
/// built-in workload controllers: the one rule the webhook (which leaves such pods unpinned unless opted in) and the
/// sweeper (which reports them as skipped) share.
///
/// Operators such as CloudNativePG compare a pod's image with the one they asked for and recreate a pod that
/// differs; a pin is such a difference, so pinning their pods can loop. Built-in controllers never compare images.
public enum OperatorOwnership {
    /// An owner reference as far as this rule reads it (KateContract does not depend on KateKube's model).
    public struct Owner: Sendable, Equatable {
        public var apiVersion: String
        public var kind: String
        public var name: String
        public var controller: Bool

        public init(apiVersion: String, kind: String, name: String, controller: Bool) {
            self.apiVersion = apiVersion
            self.kind = kind
            self.name = name
            self.controller = controller
        }

        /// The API group: `apps` for `apps/v1`, `` for the core `v1`.
        public var group: String {
            guard let slash = apiVersion.firstIndex(of: "/") else { return "" }
            return String(apiVersion[..<slash])
        }

        /// `Cluster.postgresql.cnpg.io`, `ReplicaSet.apps`: how `--pin-operator-owned` names it.
        public var qualifiedKind: String { group.isEmpty ? kind : kind + "." + group }
    }

    /// The controllers kate pins by default: they create pods from a template and never compare images.
    static let builtIn: Set<String> = ["ReplicaSet.apps", "StatefulSet.apps", "DaemonSet.apps", "Job.batch"]

    public static func isBuiltIn(_ owner: Owner) -> Bool { builtIn.contains(owner.qualifiedKind) }

    /// The operator that manages a pod with these owner references, or nil when none does (no owner, or a built-in
    /// controller). The controller reference decides; without one, the first owner that is not a built-in kind does,
    /// because some operators leave `controller` unset (Strimzi's StrimziPodSet: `controller: false`) and still
    /// recreate the pods they own.
    public static func operatorOwner(_ owners: [Owner]) -> Owner? {
        if let controller = owners.first(where: \.controller) { return isBuiltIn(controller) ? nil : controller }
        return owners.first { !isBuiltIn($0) }
    }

    /// Whether a namespace's labels opt its operator-owned pods in (`kate.dev/pin-operator-owned=true`, any case).
    public static func namespaceOptsIn(_ labels: [String: String]?) -> Bool {
        guard let value = labels?[KateAnnotations.pinOperatorOwned] else { return false }
        return value.utf8.count == 4 && value.lowercased() == "true"
    }

    /// The first word of `skipReason`, and the `reason` label of the webhook's skip metric.
    public static let reasonLabel = "operator-owned"

    /// The reason the webhook logs and the sweeper reports for such a pod.
    public static func skipReason(_ owner: Owner) -> String {
        "\(reasonLabel): controlled by \(owner.qualifiedKind) \(owner.name); pinned only with --pin-operator-owned \(owner.qualifiedKind) "
            + "or namespace label \(KateAnnotations.pinOperatorOwned)=true"
    }
}
