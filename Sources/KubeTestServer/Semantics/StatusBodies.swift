import KateNet

/// `metav1.Status` bodies written the way the apiserver writes them (same fields, same order,
/// same message wording), so client error handling is tested against the real shapes.
enum StatusBody {
    static func failure(
        code: Int, reason: String, message: String, name: String? = nil, group: String? = nil, kind: String? = nil,
        causes: [(reason: String, message: String)] = [], retryAfterSeconds: Int? = nil, emptyDetails: Bool = false
    ) -> HTTPResponse {
        var status: JSONValue = .object([
            ("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object([])),
            ("status", .string("Failure")), ("message", .string(message)), ("reason", .string(reason)),
        ])
        var details: [(String, JSONValue)] = []
        if let name { details.append(("name", .string(name))) }
        if let group, !group.isEmpty { details.append(("group", .string(group))) }
        if let kind { details.append(("kind", .string(kind))) }
        if !causes.isEmpty {
            details.append(("causes", .array(causes.map { .object([("reason", .string($0.reason)), ("message", .string($0.message))]) })))
        }
        if let retryAfterSeconds { details.append(("retryAfterSeconds", .int(retryAfterSeconds))) }
        if !details.isEmpty || emptyDetails || reason == "NotFound" || reason == "Forbidden" { status["details"] = .object(details) }
        status["code"] = .int(code)
        var response = HTTPResponse.json(code, status.serialized())
        if let retryAfterSeconds { response.headers.add(name: "Retry-After", value: String(retryAfterSeconds)) }
        return response
    }

    static func success(code: Int = 200) -> HTTPResponse {
        let body: JSONValue = .object([
            ("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object([])), ("status", .string("Success")), ("code", .int(code)),
        ])
        return .json(code, body.serialized())
    }

    static func notFound(_ type: ResourceType, name: String) -> HTTPResponse {
        failure(code: 404, reason: "NotFound", message: "\(type.qualifiedResource) \"\(name)\" not found", name: name, group: type.group, kind: type.resource)
    }

    static func alreadyExists(_ type: ResourceType, name: String) -> HTTPResponse {
        failure(code: 409, reason: "AlreadyExists", message: "\(type.qualifiedResource) \"\(name)\" already exists", name: name, group: type.group, kind: type.resource)
    }

    static func badRequest(_ message: String) -> HTTPResponse {
        failure(code: 400, reason: "BadRequest", message: message)
    }

    static func unauthorized() -> HTTPResponse {
        failure(code: 401, reason: "Unauthorized", message: "Unauthorized")
    }

    /// `deployments.apps "web" is forbidden: User "…" cannot patch resource "deployments" in API
    /// group "apps" in the namespace "shop"` — the RBAC authorizer's exact wording.
    static func forbidden(user: String, verb: String, type: ResourceType, subresource: String?, namespace: String?, name: String?) -> HTTPResponse {
        let resource = subresource.map { "\(type.resource)/\($0)" } ?? type.resource
        let subject = name.map { "\(type.qualifiedResource) \"\($0)\"" } ?? type.qualifiedResource
        let scope = namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        let message = "\(subject) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resource)\" in API group \"\(type.group)\" \(scope)"
        return failure(code: 403, reason: "Forbidden", message: message, name: name, group: type.group, kind: type.resource)
    }

    /// The eviction subresource's answer when a PodDisruptionBudget allows no disruption now.
    static func disruptionBudget(pdb: String) -> HTTPResponse {
        failure(
            code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
            causes: [("DisruptionBudget", "The disruption budget \(pdb) needs 1 healthy pods and has 1 currently")]
        )
    }

    static let expiredContinueMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

    static func expiredContinue() -> HTTPResponse {
        failure(code: 410, reason: "Expired", message: expiredContinueMessage)
    }
}
