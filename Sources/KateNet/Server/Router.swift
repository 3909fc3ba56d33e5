/// Dispatches requests by exact path and method.
///
/// Matching uses `request.path`, i.e. the target without its query string: the apiserver calls
/// `/mutate?timeout=10s`, and that must reach the `/mutate` route. An unknown path answers 404;
/// a known path asked with another method answers 405 with an `Allow` header (RFC 9110 §15.5.6).
public struct Router: HTTPResponder {
    private var routes: [String: [String: any HTTPResponder]] = [:]

    public init() {}

    /// Registers `responder` for `method` (e.g. "POST") on `path` (e.g. "/mutate"). A later
    /// registration of the same method and path replaces the earlier one.
    public mutating func add(_ method: String, _ path: String, _ responder: any HTTPResponder) {
        routes[path, default: [:]][method.uppercased()] = responder
    }

    /// Registers a closure; convenience for the small built-in endpoints.
    public mutating func add(
        _ method: String,
        _ path: String,
        _ body: @escaping @Sendable (HTTPRequest, RequestContext) async -> HTTPResponse
    ) {
        add(method, path, ClosureResponder(body))
    }

    /// The registered paths; the server labels metrics with these (anything else is "other")
    /// so that a scanner probing random URLs cannot blow up the metric cardinality.
    public var paths: Set<String> { Set(routes.keys) }

    /// True if `path` is a registered route.
    public func hasRoute(_ path: String) -> Bool { routes[path] != nil }

    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        guard let byMethod = routes[request.path] else {
            return .text(404, "no route for \(request.path)")
        }
        if let responder = byMethod[request.method] {
            return await responder.respond(to: request, context: context)
        }
        // HEAD is GET without the body (RFC 9110 §9.3.2); the server drops the body on the wire.
        if request.method == "HEAD", let get = byMethod["GET"] {
            return await get.respond(to: request, context: context)
        }
        let allowed = byMethod.keys.sorted().joined(separator: ", ")
        var response = HTTPResponse.text(405, "\(request.method) is not allowed on \(request.path); allowed: \(allowed)")
        response.headers.add(name: "Allow", value: allowed)
        return response
    }
}
