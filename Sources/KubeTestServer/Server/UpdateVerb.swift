import KateNet

extension Verbs {
    /// PUT: the body replaces the object. A `metadata.resourceVersion` in the body must be the stored
    /// one, else 409 Conflict with the apiserver's wording (optimistic concurrency: what leader
    /// election and every read-modify-write client relies on); without one the update is
    /// unconditional. Identity fields stay the server's, and so does `.status` for kinds with a
    /// status subresource. The object must exist (these kinds do not create on update).
    func replace(_ api: APIRequest, name: String, body: [UInt8]) -> HTTPResponse {
        guard let replacement = try? JSONValue.parse(body), replacement.objectValue != nil else {
            return StatusBody.badRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        if let bodyName = replacement[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            return StatusBody.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let kind = replacement["kind"]?.stringValue, kind != api.type.kind {
            return StatusBody.badRequest("the kind of the object (\(kind)) does not match the endpoint's kind (\(api.type.kind))")
        }
        let wanted = replacement[path: ["metadata", "resourceVersion"]]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        let conflict = "Operation cannot be fulfilled on \(api.type.qualifiedResource) \"\(name)\": the object has been modified; please apply your changes to the latest version and try again"
        do {
            let updated = try store.update(api.type, namespace: api.namespace, name: name) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
                if let wanted, wanted != object[path: ["metadata", "resourceVersion"]]?.stringValue { throw .conflict(conflict) }
                let status = object["status"]
                object = replacement
                object["apiVersion"] = .string(api.type.apiVersion)
                object["kind"] = .string(api.type.kind)
                if api.type.hasStatus { object["status"] = status }
            }
            return .json(200, updated.serialized())
        } catch {
            switch error {
            case .notFound: return StatusBody.notFound(api.type, name: name)
            case .conflict(let message):
                return StatusBody.failure(code: 409, reason: "Conflict", message: message, name: name, group: api.type.group, kind: api.type.resource)
            case .alreadyExists, .invalid: return StatusBody.failure(code: 422, reason: "Invalid", message: "\(error)", name: name, group: api.type.group, kind: api.type.kind)
            }
        }
    }
}
