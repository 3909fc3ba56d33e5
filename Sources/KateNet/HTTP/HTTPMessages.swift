import Logging

/// A complete HTTP/1.1 request as the server hands it to a responder: head parsed, body fully read
/// (the server enforces the size limits before the responder ever runs).
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target exactly as sent (`/mutate?timeout=10s`).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: String, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The path component of the target, without the query (the apiserver appends `?timeout=10s`).
    public var path: String {
        if let q = target.firstIndex(of: "?") { return String(target[..<q]) }
        return target
    }

    /// The raw query string after `?`, if any.
    public var query: String? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        return String(target[target.index(after: q)...])
    }

    /// The first value of query parameter `name` (percent-decoding is not applied: kate's
    /// query parameters are plain tokens such as `timeout=10s`).
    public func queryParameter(_ name: String) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}

public struct HTTPVersion: Sendable, Equatable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// A complete response. The server adds `Content-Length`, `Date` and `Connection` itself.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Set (by `HTTPResponse.streaming`), the body is produced after the head is sent, chunked; `body` is ignored.
    public var streamingBody: HTTPStreamingBody?

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A plain-text response; kate's error answers say what went wrong in one line.
    public static func text(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array((message + "\n").utf8))
    }

    public static func json(_ status: Int = 200, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }
}

/// What the server knows about the request besides its bytes.
public struct RequestContext: Sendable {
    /// The peer, as `ip:port` (`[::1]:port` for IPv6).
    public var remoteAddress: String
    /// When the server will give up on this request (the handler deadline). Responders that
    /// must answer before a shorter deadline (the admission `timeout` query) take the earlier one.
    public var deadline: ContinuousClock.Instant
    public var logger: Logger

    public init(remoteAddress: String, deadline: ContinuousClock.Instant, logger: Logger) {
        self.remoteAddress = remoteAddress
        self.deadline = deadline
        self.logger = logger
    }
}

/// Something that answers requests. Responders never throw: every failure is an HTTP answer.
public protocol HTTPResponder: Sendable {
    func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse
}

/// A responder from a closure.
public struct ClosureResponder: HTTPResponder {
    private let body: @Sendable (HTTPRequest, RequestContext) async -> HTTPResponse
    public init(_ body: @escaping @Sendable (HTTPRequest, RequestContext) async -> HTTPResponse) {
        self.body = body
    }
    public func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
        await body(request, context)
    }
}
