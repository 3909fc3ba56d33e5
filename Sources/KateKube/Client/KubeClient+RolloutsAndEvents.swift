import Foundation
import KateNet

/// Calls the sweeper's self-verifying rollouts need beyond the apps/v1 basics: workloads read with
/// their `managedFields`, Argo Rollouts, and Event series updates.
extension KubeClient {
    static let rollouts = ResourcePath(prefix: "/apis/argoproj.io/v1alpha1", resource: "rollouts")

    /// A workload with its `metadata.managedFields` (who last wrote which field).
    public func getWithManagedFields<Object: Decodable & Sendable>(_ kind: WorkloadKind, namespace: String, name: String, as type: Object.Type) async throws -> WithManagedFields<Object> {
        try await get(.workload(kind), namespace: namespace, name: name)
    }

    public func getRollout(namespace: String, name: String) async throws -> WithManagedFields<Rollout> {
        try await get(Self.rollouts, namespace: namespace, name: name)
    }

    /// `kubectl rollout restart`'s patch plus `annotations` on the workload's own metadata, in one
    /// strategic-merge PATCH, so a record of the restart exists exactly when the restart does.
    public func rolloutRestart(_ kind: WorkloadKind, namespace: String, name: String, at: Date, annotating annotations: [String: String]) async throws {
        guard kind.supportsRolloutRestart else {
            throw KubeError(
                code: 0, reason: "NotSupported", message: "restarting a \(kind.rawValue) is not supported (only Deployment, StatefulSet, DaemonSet)",
                verb: "patch", resource: kind.resource, namespace: namespace, name: name, server: configuration.server
            )
        }
        let restart = ["spec": ["template": ["metadata": ["annotations": [Self.restartedAtAnnotation: RFC3339.format(at)]]]]]
        try await patch(kind, namespace: namespace, name: name, body: Self.patchBody(restart, annotations: annotations), contentType: .strategicMerge)
    }

    /// What `kubectl argo rollouts restart` does: a merge patch setting `spec.restartAt` (plus kate's `annotations`).
    public func restartRollout(namespace: String, name: String, at: Date, annotating annotations: [String: String]) async throws {
        let body = Self.patchBody(["spec": ["restartAt": RFC3339.format(at)]], annotations: annotations)
        let call = Call(
            method: "PATCH", path: Self.rollouts.path(namespace: namespace, name: name), query: [("fieldManager", fieldManager)], body: body,
            contentType: PatchType.merge.rawValue, verb: "patch", resource: Self.rollouts.resource, namespace: namespace, name: name
        )
        _ = try await perform(call)
    }

    /// Counts another occurrence of an Event already created (`series`, as client-go's event
    /// broadcaster does for repeats), with `note` replacing the old one.
    public func updateEventSeries(_ event: KubeEvent, count: Int, lastObserved: Date) async throws {
        let namespace = event.regarding.namespace ?? configuration.namespace
        let call = Call(
            method: "PATCH", path: ResourcePath.events.path(namespace: namespace, name: event.name), query: [("fieldManager", fieldManager)],
            body: try event.seriesPatch(count: count, lastObserved: lastObserved), contentType: PatchType.merge.rawValue, verb: "patch",
            resource: "events", namespace: namespace, name: event.name
        )
        _ = try await perform(call)
    }

    static let restartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

    static func patchBody(_ patch: [String: Any], annotations: [String: String]) -> [UInt8] {
        var object = patch
        if !annotations.isEmpty { object["metadata"] = ["annotations": annotations] }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
