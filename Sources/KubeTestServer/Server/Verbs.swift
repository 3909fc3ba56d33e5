import Foundation
import KateNet

/// The API verbs with the apiserver's answers (codes, Status bodies, list envelopes).
struct Verbs {
    let store: ObjectStore
    let controls: Controls

    func list(_ api: APIRequest, query: [String: String]) -> HTTPResponse {
        let labels: LabelSelectorQuery, fields: FieldSelectorQuery
        switch Self.selectors(api, query: query) {
        case .success(let parsed): (labels, fields) = parsed
        case .failure(let box): return box.response
        }
        let limit = query["limit"].flatMap { Int($0) }
        let token = query["continue"].flatMap { $0.isEmpty ? nil : $0 }
        if token != nil, controls.takeContinueExpiry() { return StatusBody.expiredContinue() }
        let page: ObjectStore.Page
        do {
            page = try store.list(api.type, namespace: api.namespace, limit: limit, continueToken: token) { object in
                labels.matches(object.labels) && fields.matches(object.field)
            }
        } catch .expired {
            return StatusBody.expiredContinue()
        } catch {
            return StatusBody.badRequest("invalid continue token: \(token ?? "")")
        }
        var metadata: [(String, JSONValue)] = [("resourceVersion", .string(String(page.resourceVersion)))]
        if let next = page.continueToken {
            metadata.append(("continue", .string(next)))
            metadata.append(("remainingItemCount", .int(page.remaining)))
        }
        var body: [UInt8] = []
        body.reserveCapacity(page.items.reduce(256) { $0 + $1.count + 1 })
        body.append(contentsOf: #"{"kind":"\#(api.type.kind)List","apiVersion":"\#(api.type.apiVersion)","metadata":"#.utf8)
        JSONValue.object(metadata).write(to: &body)
        body.append(contentsOf: #","items":["#.utf8)
        for (index, item) in page.items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(contentsOf: item)
        }
        body.append(contentsOf: "]}".utf8)
        return .json(200, body)
    }

    func get(_ api: APIRequest, name: String) -> HTTPResponse {
        guard let object = store.get(api.type, namespace: api.namespace, name: name) else {
            return StatusBody.notFound(api.type, name: name)
        }
        return .json(200, object.bytes)
    }

    func create(_ api: APIRequest, body: [UInt8], manager: String = "") -> HTTPResponse {
        guard var object = try? JSONValue.parse(body), object.objectValue != nil else {
            return StatusBody.badRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        if let namespace = api.namespace, let bodyNamespace = object[path: ["metadata", "namespace"]]?.stringValue,
           !bodyNamespace.isEmpty, bodyNamespace != namespace {
            return StatusBody.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        ManagedFields.recordUpdate(manager: manager, before: .object([]), after: &object, subresource: nil, now: ObjectStore.timestamp(Date()))
        do {
            let created = try store.create(object, type: api.type, namespace: api.namespace)
            if api.type == .events || api.type == .coreEvents { storeEventTwin(created, of: api.type) }
            return .json(201, created.serialized())
        } catch {
            return writeError(error, api, name: object[path: ["metadata", "name"]]?.stringValue ?? "")
        }
    }

    /// The same event in the other API version (same name, uid and metadata), so a client of
    /// either version sees it, as with the apiserver's single events resource.
    private func storeEventTwin(_ created: JSONValue, of type: ResourceType) {
        let twin = type == .events ? EventConversion.toCore(created) : EventConversion.toEvents(created)
        _ = try? store.create(twin, type: type == .events ? .coreEvents : .events, namespace: created[path: ["metadata", "namespace"]]?.stringValue, replace: true)
    }

    /// policy/v1 Eviction: 429 when the pod's budget forbids it, otherwise the pod is deleted and the
    /// answer is a Success Status.
    func evict(_ api: APIRequest, name: String, body: [UInt8]) -> HTTPResponse {
        // Like any request body, an Eviction may leave out apiVersion/kind: the apiserver decodes it
        // as the endpoint's kind (the Python client sends V1Eviction without them unless set).
        guard let eviction = try? JSONValue.parse(body), eviction.objectValue != nil, (eviction["kind"]?.stringValue ?? "Eviction") == "Eviction" else {
            return StatusBody.badRequest("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        }
        if let bodyName = eviction[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            return StatusBody.badRequest("name in URL does not match name in Eviction object")
        }
        guard store.get(.pods, namespace: api.namespace, name: name) != nil else { return StatusBody.notFound(.pods, name: name) }
        let key = ObjectStore.key(namespace: api.namespace, name: name)
        if let pdb = controls.state.withLock({ $0.evictionBlocked[key] }) { return StatusBody.disruptionBudget(pdb: pdb) }
        if let refusal = consumeDisruption(namespace: api.namespace, pod: name) { return refusal }
        do {
            try store.delete(.pods, namespace: api.namespace, name: name)
        } catch {
            return writeError(error, api, name: name)
        }
        return StatusBody.success(code: 201)
    }

    /// The eviction REST handler's budget check over stored PodDisruptionBudgets: none selecting the
    /// pod allows it; more than one is an error; one with `status.disruptionsAllowed` < 1 refuses
    /// with 429; otherwise that budget is charged (disruptionsAllowed - 1, the pod in disruptedPods).
    private func consumeDisruption(namespace: String?, pod name: String) -> HTTPResponse? {
        let labels = store.get(.pods, namespace: namespace, name: name)?.json[path: ["metadata", "labels"]]?.stringMap ?? [:]
        let budgets = Self.storedObjects(store, .podDisruptionBudgets, namespace: namespace).filter { budget in
            guard let selector = budget[path: ["spec", "selector"]], let query = Self.selectorQuery(selector) else { return false }
            return !query.requirements.isEmpty && query.matches(labels)
        }
        guard let budget = budgets.first else { return nil }
        guard budgets.count == 1 else {
            return StatusBody.failure(code: 500, reason: "InternalError", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
        }
        let budgetName = budget[path: ["metadata", "name"]]?.stringValue ?? ""
        let allowed = budget[path: ["status", "disruptionsAllowed"]]?.intValue ?? 0
        guard allowed > 0 else {
            let desired = budget[path: ["status", "desiredHealthy"]]?.intValue ?? 0, current = budget[path: ["status", "currentHealthy"]]?.intValue ?? 0
            return StatusBody.failure(
                code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                causes: [("DisruptionBudget", "The disruption budget \(budgetName) needs \(desired) healthy pods and has \(current) currently")]
            )
        }
        let now = ObjectStore.timestamp(Date())
        _ = try? store.update(.podDisruptionBudgets, namespace: namespace, name: budgetName) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
            object[path: ["status", "disruptionsAllowed"]] = .int(allowed - 1)
            object[path: ["status", "disruptedPods", name]] = .string(now)
        }
        return nil
    }

    static func selectorQuery(_ selector: JSONValue) -> LabelSelectorQuery? {
        var terms = (selector["matchLabels"]?.stringMap ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for expression in selector["matchExpressions"]?.arrayValue ?? [] {
            guard let key = expression["key"]?.stringValue, let op = expression["operator"]?.stringValue else { return nil }
            let values = (expression["values"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ",")
            switch op {
            case "In": terms.append("\(key) in (\(values))")
            case "NotIn": terms.append("\(key) notin (\(values))")
            case "Exists": terms.append(key)
            case "DoesNotExist": terms.append("!\(key)")
            default: return nil
            }
        }
        return try? LabelSelectorQuery(parsing: terms.joined(separator: ","))
    }

    static func storedObjects(_ store: ObjectStore, _ type: ResourceType, namespace: String?) -> [JSONValue] {
        guard let page = try? store.list(type, namespace: namespace, limit: nil, continueToken: nil, matching: { _ in true }) else { return [] }
        return page.items.compactMap { try? JSONValue.parse($0) }
    }

    func patch(_ api: APIRequest, name: String, contentType: String?, body: [UInt8], manager: String = "", query: String? = nil) -> HTTPResponse {
        let mediaType = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if mediaType == "application/apply-patch+yaml" { return apply(api, name: name, body: body, manager: manager, query: query) }
        guard ["application/strategic-merge-patch+json", "application/merge-patch+json", "application/json-patch+json"].contains(mediaType) else {
            return StatusBody.failure(
                code: 415, reason: "UnsupportedMediaType",
                message: "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json"
            )
        }
        guard let patch = try? JSONValue.parse(body) else {
            return StatusBody.badRequest("error decoding patch: invalid character in JSON")
        }
        if mediaType == "application/json-patch+json", patch.arrayValue == nil {
            return StatusBody.badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        if mediaType != "application/json-patch+json", patch.objectValue == nil {
            return StatusBody.badRequest("error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}")
        }
        var patchError: String?
        do {
            let updated = try store.update(api.type, namespace: api.namespace, name: name) { (object: inout JSONValue) throws(ObjectStore.WriteError) in
                let before = object
                // Declared first, so it runs last: managedFields see the object as stored (status restored).
                defer { ManagedFields.recordUpdate(manager: manager, before: before, after: &object, subresource: api.subresource, now: ObjectStore.timestamp(Date())) }
                defer {
                    if api.subresource == "status" {
                        let status = object["status"]
                        object = before
                        object["status"] = status
                    } else if api.type.hasStatus {
                        object["status"] = before["status"]
                    }
                }
                switch mediaType {
                case "application/strategic-merge-patch+json": object = Patching.strategicMergePatch(object, patch)
                case "application/merge-patch+json": object = Patching.mergePatch(object, patch)
                default:
                    do throws(JSONPatch.Failure) {
                        object = try JSONPatch.apply(patch, to: object)
                    } catch {
                        patchError = error.description
                        throw ObjectStore.WriteError.invalid(error.description)
                    }
                }
            }
            if api.type == .events || api.type == .coreEvents { storeEventTwin(updated, of: api.type) }
            return .json(200, updated.serialized())
        } catch {
            // The apiserver answers a JSON patch that does not apply (a failed `test`, a missing path)
            // with errors.NewGenericServerResponse(422, …): reason Invalid, a generic message and
            // empty details; the library's own text is not passed on (kubectl prints "The request is
            // invalid: the server rejected our request due to an error in our request").
            if patchError != nil {
                return StatusBody.failure(code: 422, reason: "Invalid", message: "the server rejected our request due to an error in our request", emptyDetails: true)
            }
            return writeError(error, api, name: name)
        }
    }

    /// DELETE honouring `preconditions.uid` (and `preconditions.resourceVersion`) from DeleteOptions.
    func delete(_ api: APIRequest, name: String, body: [UInt8]) -> HTTPResponse {
        let options = body.isEmpty ? nil : try? JSONValue.parse(body)
        let wantedUID = options?[path: ["preconditions", "uid"]]?.stringValue
        let wantedRV = options?[path: ["preconditions", "resourceVersion"]]?.stringValue
        do {
            let deleted = try store.delete(api.type, namespace: api.namespace, name: name) { (object: JSONValue) throws(ObjectStore.WriteError) in
                let uid = object[path: ["metadata", "uid"]]?.stringValue ?? ""
                if let wantedUID, wantedUID != uid {
                    throw .conflict("Precondition failed: UID in precondition: \(wantedUID), UID in object meta: \(uid)")
                }
                let rv = object[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
                if let wantedRV, wantedRV != rv {
                    throw .conflict("Precondition failed: ResourceVersion in precondition: \(wantedRV), ResourceVersion in object meta: \(rv)")
                }
            }
            return .json(200, deleted.serialized())
        } catch {
            return writeError(error, api, name: name)
        }
    }

    func writeError(_ error: ObjectStore.WriteError, _ api: APIRequest, name: String) -> HTTPResponse {
        switch error {
        case .notFound: StatusBody.notFound(api.type, name: name)
        case .alreadyExists: StatusBody.alreadyExists(api.type, name: name)
        case .conflict(let message):
            StatusBody.failure(code: 409, reason: "Conflict", message: message, name: name, group: api.type.group, kind: api.type.resource)
        case .invalid(let message):
            StatusBody.failure(code: 422, reason: "Invalid", message: message, name: name, group: api.type.group, kind: api.type.kind)
        }
    }
}
