import Foundation
import KateNet

/// The `autoscaling/v1` Scale subresource (`<resource>/<name>/scale`) of the kinds whose replica count lives at
/// `.spec.replicas`, as the apiserver serves it for Deployments, ReplicaSets and StatefulSets and as a CRD with
/// `subresources.scale` (`specReplicasPath: .spec.replicas`, Argo Rollouts') does: GET reads it, PATCH and PUT
/// change only `spec.replicas` of the parent (`kubectl scale`, the HPA).
extension ResourceType {
    var hasScale: Bool { [ResourceType.deployments, .replicaSets, .statefulSets, .rollouts].contains(self) }
}

extension Verbs {
    func getScale(_ api: APIRequest, name: String) -> HTTPResponse {
        guard let object = store.get(api.type, namespace: api.namespace, name: name) else { return StatusBody.notFound(api.type, name: name) }
        return .json(200, Self.scale(of: object.json).serialized())
    }

    /// A merge or strategic-merge patch (what `kubectl scale` sends), or a PUT of a whole Scale: applied to the Scale
    /// view, and only its `spec.replicas` is written back to the parent.
    func writeScale(_ api: APIRequest, name: String, contentType: String?, body: [UInt8], isPut: Bool) -> HTTPResponse {
        guard let patch = try? JSONValue.parse(body), patch.objectValue != nil else {
            return StatusBody.badRequest("error decoding patch: the body must be a JSON object")
        }
        do {
            let updated = try store.update(api.type, namespace: api.namespace, name: name) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
                let view = isPut ? patch : Patching.mergePatch(Self.scale(of: object), patch)
                guard let replicas = view[path: ["spec", "replicas"]]?.intValue, replicas >= 0 else {
                    throw .invalid("Scale.autoscaling \"\(name)\" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0")
                }
                object[path: ["spec", "replicas"]] = .int(replicas)
            }
            return .json(200, Self.scale(of: updated).serialized())
        } catch {
            return writeError(error, api, name: name)
        }
    }

    static func scale(of object: JSONValue) -> JSONValue {
        var metadata: [(String, JSONValue)] = []
        for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            if let value = object[path: ["metadata", field]] { metadata.append((field, value)) }
        }
        return .object([
            ("kind", .string("Scale")), ("apiVersion", .string("autoscaling/v1")), ("metadata", .object(metadata)),
            ("spec", .object([("replicas", .int(object[path: ["spec", "replicas"]]?.intValue ?? 1))])),
            ("status", .object([("replicas", .int(object[path: ["status", "replicas"]]?.intValue ?? 0))])),
        ])
    }
}
