import Foundation
import KateNet

/// Whole-object reads and writes for kinds kate owns or locks on (Leases, kate's own custom
/// resources): GET, POST, and PUT with the object's `metadata.resourceVersion` as the precondition.
/// The object must carry `apiVersion` and `kind`, and its model every field the kind has: a PUT
/// replaces the object, so a field the model drops is deleted.
extension KubeClient {
    public func getObject<T: KubeObject>(_ type: T.Type, _ resource: ResourcePath, namespace: String?, name: String) async throws -> T {
        try await get(resource, namespace: namespace, name: name)
    }

    /// Every object of the kind (paged; a list that expired mid-way starts over).
    public func listObjects<T: KubeObject>(_ type: T.Type, _ resource: ResourcePath, namespace: String?, labelSelector: String? = nil) async throws -> [T] {
        try await listWithVersion(type, resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: nil).0
    }

    /// POST; 409 AlreadyExists when another writer created it first.
    public func createObject<T: KubeObject & Encodable>(_ object: T, _ resource: ResourcePath, namespace: String?) async throws -> T {
        try await writeObject("POST", object, resource, namespace: namespace, name: nil, verb: "create")
    }

    /// PUT; 409 Conflict when the object changed since `object.metadata.resourceVersion` was read.
    public func replaceObject<T: KubeObject & Encodable>(_ object: T, _ resource: ResourcePath, namespace: String?) async throws -> T {
        try await writeObject("PUT", object, resource, namespace: namespace, name: object.metadata.name ?? "", verb: "update")
    }

    /// DELETE, only if the object is still at `resourceVersion` when one is given (409 otherwise).
    public func deleteObject(_ resource: ResourcePath, namespace: String?, name: String, resourceVersion: String? = nil) async throws {
        var options: [String: Any] = [:]
        if let resourceVersion { options["preconditions"] = ["resourceVersion": resourceVersion] }
        let call = Call(
            method: "DELETE", path: resource.path(namespace: namespace, name: name),
            body: options.isEmpty ? [] : Array(try JSONSerialization.data(withJSONObject: options, options: [.sortedKeys])),
            contentType: options.isEmpty ? nil : "application/json", verb: "delete", resource: resource.resource, namespace: namespace, name: name
        )
        _ = try await perform(call)
    }

    private func writeObject<T: KubeObject & Encodable>(
        _ method: String, _ object: T, _ resource: ResourcePath, namespace: String?, name: String?, verb: String
    ) async throws -> T {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let call = Call(
            method: method, path: resource.path(namespace: namespace, name: name), query: [("fieldManager", fieldManager)],
            body: Array(try encoder.encode(object)), contentType: "application/json", verb: verb, resource: resource.resource, namespace: namespace,
            name: name ?? object.metadata.name
        )
        return try decode(T.self, try await perform(call), call)
    }
}
