import Foundation
import KateNet

/// PUT (update) and server-side apply, with `managedFields` kept as the apiserver keeps them.
extension Verbs {
    /// PUT: the body replaces the object. A `metadata.resourceVersion` in the body must be the stored
    /// one (409 otherwise: optimistic concurrency); without one the write is unconditional, as the
    /// apps/v1 and core strategies allow. The main resource keeps its status; `/status` changes only status.
    func replace(_ api: APIRequest, name: String, body: [UInt8], manager: String) -> HTTPResponse {
        guard let replacement = try? JSONValue.parse(body), replacement.objectValue != nil else {
            return StatusBody.badRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        if let bodyName = replacement[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            return StatusBody.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let modified = "Operation cannot be fulfilled on \(api.type.qualifiedResource) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again"
        do {
            let updated = try store.update(api.type, namespace: api.namespace, name: name) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
                let before = object
                if let wanted = replacement[path: ["metadata", "resourceVersion"]]?.stringValue, !wanted.isEmpty,
                   wanted != before[path: ["metadata", "resourceVersion"]]?.stringValue {
                    throw .conflict(modified)
                }
                var next = replacement
                if api.subresource == "status" {
                    next = before
                    next["status"] = replacement["status"]
                } else if api.type.hasStatus {
                    next["status"] = before["status"]
                }
                // An empty list resets the record (as with the apiserver); anything else sent back is the server's.
                var tracked = before
                if replacement[path: ["metadata", "managedFields"]]?.arrayValue?.isEmpty == true { tracked[path: ["metadata", "managedFields"]] = nil }
                next[path: ["metadata", "managedFields"]] = tracked[path: ["metadata", "managedFields"]]
                ManagedFields.recordUpdate(manager: manager, before: tracked, after: &next, subresource: api.subresource, now: ObjectStore.timestamp(Date()))
                object = next
            }
            if api.type == .events || api.type == .coreEvents { _ = try? store.create(updated, type: api.type == .events ? .coreEvents : .events, namespace: api.namespace, replace: true) }
            return .json(200, updated.serialized())
        } catch {
            return writeError(error, api, name: name)
        }
    }

    /// Server-side apply (`kubectl apply --server-side`). The body is YAML in the API; every client
    /// kate's tests use sends JSON, which is YAML, and other YAML is answered 415 here.
    func apply(_ api: APIRequest, name: String, body: [UInt8], manager: String, query: String?) -> HTTPResponse {
        guard let config = try? JSONValue.parse(body), config.objectValue != nil else {
            return StatusBody.failure(code: 415, reason: "UnsupportedMediaType", message: "the test API server accepts apply configurations in JSON form only")
        }
        guard !manager.isEmpty, QueryString.parse(query)["fieldManager"] != nil else {
            return StatusBody.badRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        }
        let force = QueryString.parse(query)["force"] == "true"
        var conflict: String?
        do {
            let updated = try store.update(api.type, namespace: api.namespace, name: name) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
                do throws(ManagedFields.Conflict) {
                    let before = object
                    object = try ManagedFields.apply(manager: manager, config: config, to: before, force: force, now: ObjectStore.timestamp(Date()))
                    if api.type.hasStatus { object["status"] = before["status"] }
                } catch {
                    conflict = error.message
                    throw .conflict(error.message)
                }
            }
            return .json(200, updated.serialized())
        } catch .notFound where conflict == nil {
            // Apply creates what does not exist yet.
            var created: JSONValue
            do throws(ManagedFields.Conflict) {
                created = try ManagedFields.apply(manager: manager, config: config, to: .object([]), force: force, now: ObjectStore.timestamp(Date()))
            } catch {
                return StatusBody.failure(code: 409, reason: "Conflict", message: error.message)
            }
            created[path: ["metadata", "name"]] = .string(name)
            do {
                return .json(201, try store.create(created, type: api.type, namespace: api.namespace).serialized())
            } catch {
                return writeError(error, api, name: name)
            }
        } catch {
            if let conflict { return StatusBody.failure(code: 409, reason: "Conflict", message: conflict, name: name, group: api.type.group, kind: api.type.resource) }
            return writeError(error, api, name: name)
        }
    }
}
