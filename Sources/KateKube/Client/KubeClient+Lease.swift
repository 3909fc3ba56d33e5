extension ResourcePath {
    public static let leases = ResourcePath(group: "coordination.k8s.io", version: "v1", resource: "leases")
}

extension KubeClient {
    public func getLease(namespace: String, name: String) async throws -> Lease {
        try await getObject(Lease.self, .leases, namespace: namespace, name: name)
    }

    /// Creates `lease`; 409 AlreadyExists when another client created it first.
    public func createLease(_ lease: Lease, namespace: String) async throws -> Lease {
        try await createObject(lease.typed(in: namespace), .leases, namespace: namespace)
    }

    /// PUT with `lease.metadata.resourceVersion` as the precondition: 409 Conflict when the Lease
    /// changed since it was read (another candidate renewed or took it).
    public func updateLease(_ lease: Lease, namespace: String) async throws -> Lease {
        try await replaceObject(lease.typed(in: namespace), .leases, namespace: namespace)
    }
}

extension Lease {
    fileprivate func typed(in namespace: String) -> Lease {
        var lease = self
        lease.apiVersion = "coordination.k8s.io/v1"
        lease.kind = "Lease"
        lease.metadata.namespace = namespace
        return lease
    }
}
