import Foundation
import KateNet

/// Serves the Kubernetes API paths over the store: authentication, RBAC denials, failure
/// injection, then the verb. Every request is recorded first, whatever happens to it.
struct APIHandler: HTTPResponder {
    let store: ObjectStore
    let controls: Controls
    /// True on a listener that verified a client certificate during the handshake: a request
    /// without a bearer token is then the certificate's user.
    let clientCertificateUser: String?
    /// Present when the server was started with `allowConnectionDrops`.
    let dropper: ConnectionDropper?
    /// The port clients reach (discovery's serverAddressByClientCIDRs names it).
    let port: UpstreamPort

    func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        let path = request.path.removingPercentEncoding ?? request.path
        let token = Self.bearerToken(request.headers["Authorization"])
        let user = authenticate(request.headers["Authorization"], token: token)
        controls.record(RecordedCall(
            method: request.method, path: path, query: request.query, contentType: request.headers["Content-Type"],
            body: request.body, user: user, bearerToken: token
        ))
        if let failure = controls.takeInjection(method: request.method, path: path, query: request.query) {
            guard failure == .dropConnection || failure == .closeWithoutAnswer else { return Self.answer(failure) }
            guard let dropper else {
                return StatusBody.failure(code: 500, reason: "InternalError", message: "\(failure) needs KubeTestServer.start(allowConnectionDrops: true)")
            }
            dropper.armDrop()
            // Not served: this answer is swallowed by the relay together with the connection.
            if failure == .closeWithoutAnswer { return Self.answer(failure) }
        }
        return await serve(request, path: path, user: user)
    }

    private func serve(_ request: HTTPRequest, path: String, user: String?) async -> HTTPResponse {
        guard let user else { return StatusBody.unauthorized() }
        if request.method == "GET", let document = Discovery.respond(path: path, port: port.value) { return document }
        guard let api = APIRequest.parse(path: request.path) else {
            return .text(404, "404 page not found")
        }
        let isWatch = request.method == "GET" && api.name == nil && WatchRequest.isWatch(QueryString.parse(request.query))
        let verb = isWatch ? "watch" : api.verb(method: request.method)
        if controls.isDenied(verb: verb, resource: api.rbacResource, namespace: api.namespace) {
            return StatusBody.forbidden(user: user, verb: verb, type: api.type, subresource: api.subresource, namespace: api.namespace, name: api.name)
        }
        let verbs = Verbs(store: store, controls: controls)
        let writer = ManagedFields.manager(fieldManager: QueryString.parse(request.query)["fieldManager"], userAgent: request.headers["User-Agent"])
        switch (request.method, api.name, api.subresource) {
        case ("GET", nil, nil) where isWatch:
            return verbs.watch(api, query: QueryString.parse(request.query))
        case ("GET", nil, nil), ("HEAD", nil, nil):
            let query = QueryString.parse(request.query)
            return Self.asTableIfAsked(verbs.list(api, query: query), type: api.type, accept: request.headers["Accept"], query: query, isList: true)
        case ("GET", .some(let name), nil), ("HEAD", .some(let name), nil):
            return Self.asTableIfAsked(
                verbs.get(api, name: name), type: api.type, accept: request.headers["Accept"], query: QueryString.parse(request.query), isList: false
            )
        case ("POST", nil, nil):
            return verbs.create(api, body: request.body, manager: writer)
        case ("POST", .some(let name), "eviction") where api.type == .pods:
            return verbs.evict(api, name: name, body: request.body)
        case ("PATCH", .some(let name), nil):
            return verbs.patch(api, name: name, contentType: request.headers["Content-Type"], body: request.body, manager: writer, query: request.query)
        case ("PATCH", .some(let name), "status") where api.type.hasStatus:
            return verbs.patch(api, name: name, contentType: request.headers["Content-Type"], body: request.body, manager: writer, query: request.query)
        case ("PUT", .some(let name), nil):
            return verbs.replace(api, name: name, body: request.body, manager: writer)
        case ("PUT", .some(let name), "status") where api.type.hasStatus:
            return verbs.replace(api, name: name, body: request.body, manager: writer)
        case ("GET", .some(let name), "status") where api.type.hasStatus:
            return verbs.get(api, name: name)
        case ("GET", .some(let name), "scale") where api.type.hasScale:
            return verbs.getScale(api, name: name)
        case ("PATCH", .some(let name), "scale") where api.type.hasScale, ("PUT", .some(let name), "scale") where api.type.hasScale:
            return verbs.writeScale(api, name: name, contentType: request.headers["Content-Type"], body: request.body, isPut: request.method == "PUT")
        case ("DELETE", .some(let name), nil):
            return verbs.delete(api, name: name, body: request.body)
        default:
            return StatusBody.failure(
                code: 405, reason: "MethodNotAllowed",
                message: "the server does not allow this method on the requested resource"
            )
        }
    }

    /// A successful read answered as a `Table` when the client's first choice is one (`kubectl get`).
    static func asTableIfAsked(_ response: HTTPResponse, type: ResourceType, accept: String?, query: [String: String], isList: Bool) -> HTTPResponse {
        guard response.status == 200, TableConversion.wantsTable(accept), let body = try? JSONValue.parse(response.body) else { return response }
        let items = isList ? body["items"]?.arrayValue ?? [] : [body]
        let table = TableConversion.table(
            for: type, items: items, resourceVersion: body[path: ["metadata", "resourceVersion"]]?.stringValue,
            continueToken: isList ? body[path: ["metadata", "continue"]]?.stringValue : nil, includeObject: query["includeObject"]
        )
        return .json(200, table.serialized())
    }

    static func bearerToken(_ header: String?) -> String? {
        guard let header, header.hasPrefix("Bearer ") else { return nil }
        let token = header.dropFirst("Bearer ".count).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Bearer token, then basic auth, then (on the mTLS listener) the verified client certificate.
    private func authenticate(_ header: String?, token: String?) -> String? {
        controls.state.withLock { state in
            if let token { return state.tokens[token] }
            if let header, header.hasPrefix("Basic "), let pair = Base64.decodeUTF8(String(header.dropFirst(6))),
               let colon = pair.firstIndex(of: ":") {
                let name = String(pair[..<colon]), password = String(pair[pair.index(after: colon)...])
                return state.basicUsers[name] == password ? name : nil
            }
            return header == nil ? clientCertificateUser : nil
        }
    }

    static func answer(_ failure: InjectedFailure) -> HTTPResponse {
        switch failure {
        case .tooManyRequests(let seconds):
            var response = StatusBody.failure(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.")
            response.headers.add(name: "Retry-After", value: String(seconds))
            return response
        case .dropConnection, .closeWithoutAnswer:
            return StatusBody.failure(code: 500, reason: "InternalError", message: "connection drop requested")
        case .status(410):
            // What the apiserver answers for an expired continue token: the client's cue to restart the list.
            return StatusBody.expiredContinue()
        case .status(let code):
            let reason = code == 503 ? "ServiceUnavailable" : code == 504 ? "Timeout" : "InternalError"
            return StatusBody.failure(
                code: code, reason: reason, message: "Internal error occurred: injected failure", causes: [("", "injected failure")]
            )
        }
    }
}
