import Foundation
import KateNet

extension ResourcePath {
    public static let leases = ResourcePath(group: "coordination.k8s.io", version: "v1", resource: "leases")
}

extension KubeClient {
    public func getLease(namespace: String, name: String) async throws -> Lease {
        try await get(.leases, namespace: namespace, name: name)
    }

    /// Creates `lease`; 409 AlreadyExists when another client created it first.
    public func createLease(_ lease: Lease, namespace: String) async throws -> Lease {
        try await write("POST", lease, namespace: namespace, name: nil, verb: "create")
    }

    /// PUT with `lease.metadata.resourceVersion` as the precondition: 409 Conflict when the Lease
    /// changed since it was read (another candidate renewed or took it).
    public func updateLease(_ lease: Lease, namespace: String) async throws -> Lease {
        try await write("PUT", lease, namespace: namespace, name: lease.metadata.name ?? "", verb: "update")
    }

    private func write(_ method: String, _ lease: Lease, namespace: String, name: String?, verb: String) async throws -> Lease {
        var body = lease
        body.apiVersion = "coordination.k8s.io/v1"
        body.kind = "Lease"
        body.metadata.namespace = namespace
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let call = Call(
            method: method, path: ResourcePath.leases.path(namespace: namespace, name: name), query: [("fieldManager", fieldManager)],
            body: Array(try encoder.encode(body)), contentType: "application/json", verb: verb, resource: "leases", namespace: namespace,
            name: name ?? lease.metadata.name
        )
        return try decode(Lease.self, try await perform(call), call)
    }
}
