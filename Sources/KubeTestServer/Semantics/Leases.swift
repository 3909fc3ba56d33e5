extension ResourceType {
    /// `coordination.k8s.io/v1` Lease: leader election's lock (create, get, update with
    /// resourceVersion preconditions, watch). No status subresource.
    public static let leases = ResourceType(group: "coordination.k8s.io", version: "v1", resource: "leases", kind: "Lease", namespaced: true)
}
