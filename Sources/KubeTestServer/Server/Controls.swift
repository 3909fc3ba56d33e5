import Foundation
import Synchronization

/// A call the test server received, for assertions ("exactly one PATCH with this body").
public struct RecordedCall: Sendable {
    public let method: String
    /// Percent-decoded path without the query.
    public let path: String
    /// The raw query string (nil if none).
    public let query: String?
    public let contentType: String?
    public let body: [UInt8]
    /// The authenticated user, nil when the call was rejected as unauthenticated.
    public let user: String?
    /// The bearer token presented, if any (token-rotation tests check which one was used).
    public let bearerToken: String?

    /// A query parameter, percent-decoded (`labelSelector`, `continue`, `fieldManager`, …).
    public func queryValue(_ name: String) -> String? { QueryString.parse(query)[name] }

    /// The body as JSON, nil when empty or not JSON.
    public var bodyJSON: JSONValue? { body.isEmpty ? nil : try? JSONValue.parse(body) }
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// What a failure injection answers instead of serving the call.
public enum InjectedFailure: Sendable, Equatable {
    /// A `Status` body with this code (500 → InternalError, 503 → ServiceUnavailable, …).
    case status(Int)
    /// 429 with `Retry-After: seconds`, as API Priority and Fairness answers.
    case tooManyRequests(retryAfterSeconds: Int)
    /// The request is served (a write takes effect) but the connection is cut before the answer
    /// arrives. Needs `KubeTestServer.start(allowConnectionDrops: true)`.
    case dropConnection
    /// The request is *not* served: the connection is closed without a byte of answer, as when
    /// the apiserver restarts or a load balancer cuts the connection mid-request. Needs
    /// `KubeTestServer.start(allowConnectionDrops: true)`.
    case closeWithoutAnswer
}

/// Which of the calls matching an injection (method and path prefix) it hits. Counting starts
/// when the injection is made; every matching request counts, also one that another injection
/// answered.
///
/// ```swift
/// server.injectFailure(.status(500), method: "GET", pathPrefix: "/api/v1/pods")                        // the next list call
/// server.injectFailure(.status(500), method: "GET", pathPrefix: "/api/v1/pods", when: .onCall(3))      // the 3rd one
/// server.injectFailure(.status(410), method: "GET", pathPrefix: "/api/v1/pods", when: .whenContinuing) // the next page ≥ 2
/// server.injectFailure(.status(500), count: 2, pathPrefix: "/api/v1/pods", when: .whenContinuing.onCall(2)) // page 3 and its retry
/// ```
public struct InjectionTrigger: Sendable, Equatable, CustomStringConvertible {
    /// The first matching call that fails, 1-based; the `count - 1` matching calls after it fail too.
    public var call: Int
    /// Only requests whose query carries a non-empty `continue` token match: the pages after the
    /// first of a paged list (a first page, or a list restarted after 410, does not count).
    public var continuing: Bool

    public init(call: Int = 1, continuing: Bool = false) {
        self.call = max(1, call)
        self.continuing = continuing
    }

    /// The next matching calls (what `injectFailure` did before triggers existed).
    public static let next = InjectionTrigger()

    /// Lets `n - 1` matching calls through, then fails the `n`th.
    public static func onCall(_ n: Int) -> InjectionTrigger { InjectionTrigger(call: n) }

    /// Only list requests that continue a list (`continue=<token>`): page 2 onwards.
    public static let whenContinuing = InjectionTrigger(continuing: true)

    /// The same trigger hitting its `n`th matching call: `.whenContinuing.onCall(2)` is the second
    /// continuing request, page 3 of a list whose page 2 was not retried.
    public func onCall(_ n: Int) -> InjectionTrigger { InjectionTrigger(call: n, continuing: continuing) }

    public var description: String {
        (continuing ? "continuing request " : "call ") + "#\(call)"
    }

    func matches(query: String?) -> Bool {
        guard continuing else { return true }
        return !(QueryString.parse(query)["continue"] ?? "").isEmpty
    }
}

/// An RBAC rule the server refuses (403) instead of serving.
public struct Denial: Sendable, Hashable {
    public var verb: String
    /// Plural resource, with subresource when there is one: `deployments`, `pods/eviction`.
    public var resource: String
    /// nil: every namespace (and cluster scope).
    public var namespace: String?

    public init(verb: String, resource: String, namespace: String? = nil) {
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
    }
}

/// The switches tests flip, and the call log. One lock; nothing here is slow.
final class Controls: Sendable {
    struct Injection {
        var method: String?
        var pathPrefix: String
        var remaining: Int
        var failure: InjectedFailure
        var trigger = InjectionTrigger.next
        /// Matching requests seen since the injection was made.
        var seen = 0

        func matches(method: String, path: String, query: String?) -> Bool {
            (self.method == nil || self.method == method) && path.hasPrefix(pathPrefix) && trigger.matches(query: query)
        }
    }

    struct State {
        var tokens: [String: String] = [:]
        var basicUsers: [String: String] = [:]
        var denials: Set<Denial> = []
        /// `namespace/name` → PDB name for pods whose eviction a budget forbids.
        var evictionBlocked: [String: String] = [:]
        var injections: [Injection] = []
        var expireContinueRequests = 0
        var calls: [RecordedCall] = []
        var recording = true
    }

    let state = Mutex(State())

    func record(_ call: RecordedCall) {
        state.withLock { if $0.recording { $0.calls.append(call) } }
    }

    /// Counts the request against every injection it matches, then consumes the first one that
    /// is due (its trigger's call reached), if any.
    func takeInjection(method: String, path: String, query: String?) -> InjectedFailure? {
        state.withLock { state in
            for index in state.injections.indices where state.injections[index].matches(method: method, path: path, query: query) {
                state.injections[index].seen += 1
            }
            guard let index = state.injections.firstIndex(where: {
                $0.remaining > 0 && $0.seen >= $0.trigger.call && $0.matches(method: method, path: path, query: query)
            }) else { return nil }
            state.injections[index].remaining -= 1
            let failure = state.injections[index].failure
            if state.injections[index].remaining == 0 { state.injections.remove(at: index) }
            return failure
        }
    }

    func isDenied(verb: String, resource: String, namespace: String?) -> Bool {
        state.withLock { state in
            state.denials.contains { $0.verb == verb && $0.resource == resource && ($0.namespace == nil || $0.namespace == namespace) }
        }
    }

    func takeContinueExpiry() -> Bool {
        state.withLock { state in
            guard state.expireContinueRequests > 0 else { return false }
            state.expireContinueRequests -= 1
            return true
        }
    }
}

enum QueryString {
    /// `a=1&b=x%3Dy` → ["a": "1", "b": "x=y"]; the first occurrence of a name wins.
    static func parse(_ query: String?) -> [String: String] {
        var result: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]))
            if result[name] == nil { result[name] = parts.count > 1 ? decode(String(parts[1])) : "" }
        }
        return result
    }

    static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}
