import Foundation
import KateNet

/// A failed API call: the server's `Status` (code, reason, message) plus what kate was doing
/// (verb, resource, namespace, name), so a 403 reads as a missing RBAC rule, not a mystery.
/// `code` is 0 when no HTTP answer arrived (connection, TLS or credential failure).
public struct KubeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: Int
    /// The Status reason (`NotFound`, `Forbidden`, `Conflict`, `Expired`, `TooManyRequests`,
    /// `InternalError`, …) or, for local failures, `ConnectionFailed`, `Credentials`, `InvalidResponse`.
    public let reason: String
    /// The server's message, verbatim.
    public let message: String
    public let verb: String
    /// Plural resource, with the subresource when there is one (`pods/eviction`).
    public let resource: String
    public let namespace: String?
    public let name: String?
    /// From the `Retry-After` header or `details.retryAfterSeconds` (429, some 5xx).
    public let retryAfter: Duration?
    /// The API server, for messages.
    public let server: String
    /// Why no HTTP answer arrived (`code` 0, reason `ConnectionFailed`): DNS, connect, TLS, timeout, a closed
    /// connection. Kept so callers can tell a dead API server from a TLS misconfiguration.
    public let transport: HTTPClientError?

    public init(
        code: Int, reason: String, message: String, verb: String = "", resource: String = "", namespace: String? = nil,
        name: String? = nil, retryAfter: Duration? = nil, server: String = "", transport: HTTPClientError? = nil
    ) {
        self.transport = transport
        self.code = code
        self.reason = reason
        self.message = message
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.retryAfter = retryAfter
        self.server = server
    }

    static func connectionFailed(_ cause: HTTPClientError) -> KubeError {
        KubeError(code: 0, reason: "ConnectionFailed", message: cause.description, transport: cause)
    }

    static func credentials(_ message: String) -> KubeError {
        KubeError(code: 0, reason: "Credentials", message: message)
    }

    public var isNotFound: Bool { code == 404 }
    public var isForbidden: Bool { code == 403 }
    public var isConflict: Bool { code == 409 }
    public var isTooManyRequests: Bool { code == 429 }
    /// 410: a list's continue token expired (the list must restart).
    public var isGone: Bool { code == 410 }
    public var isUnauthorized: Bool { code == 401 }

    /// The same error with the call's context filled in.
    func with(verb: String, resource: String, namespace: String?, name: String?, server: String) -> KubeError {
        KubeError(
            code: code, reason: reason, message: message, verb: verb, resource: resource, namespace: namespace, name: name,
            retryAfter: retryAfter, server: server, transport: transport
        )
    }

    public var description: String {
        let target = [resource.isEmpty ? nil : resource, name.map { "\"\($0)\"" }].compactMap { $0 }.joined(separator: " ")
        let scope = namespace.map { " in namespace \($0)" } ?? (resource.isEmpty ? "" : " cluster-wide")
        let call = verb.isEmpty ? "" : "\(verb) \(target)\(scope)"
        switch code {
        case 0:
            return call.isEmpty ? message : "cannot \(call): \(message)"
        case 401:
            return "API server \(server) rejected the credentials (401) on \(call): \(message); check the token or client certificate"
        case 403:
            // Name the subject the apiserver quoted, trimmed to the service account's name.
            let who = Self.subject(in: message) ?? "kate"
            let resourceOnly = resource.isEmpty ? "objects" : resource
            return "RBAC: \(who) cannot \(verb) \(resourceOnly)\(scope); grant it via the chart's RBAC (API server said: \(message))"
        case 429:
            let wait = retryAfter.map { ", retry after \($0.components.seconds)s" } ?? ""
            return "\(call): too many requests (429 \(reason))\(wait): \(message)"
        default:
            return "\(call): \(code) \(reason): \(message)"
        }
    }

    /// `User "system:serviceaccount:kate:kate-sweeper" cannot patch …` → `kate-sweeper`.
    static func subject(in message: String) -> String? {
        guard let start = message.range(of: "User \"") else { return nil }
        let rest = message[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        let user = String(rest[..<end])
        let prefix = "system:serviceaccount:"
        if user.hasPrefix(prefix), let name = user.split(separator: ":").last { return String(name) }
        return user
    }
}
