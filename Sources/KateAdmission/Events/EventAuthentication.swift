import KateNet

/// Who may post registry events: a shared bearer token, an HMAC-SHA256 secret over the raw body,
/// or both (then either one admits a request: GitHub signs, Harbor and distribution send a
/// header, Docker Hub and Quay can only put a token in the URL). Never neither — the options
/// refuse to start the receiver without a secret.
public struct EventAuthentication: Sendable {
    private let token: [UInt8]?
    private let hmacSecret: [UInt8]?

    /// nil when neither secret is given (or both are empty): an anonymous receiver is not offered.
    public init?(token: String?, hmacSecret: String?) {
        let token = token.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        let secret = hmacSecret.map { Array($0.utf8) }.flatMap { $0.isEmpty ? nil : $0 }
        guard token != nil || secret != nil else { return nil }
        self.token = token
        self.hmacSecret = secret
    }

    /// The signature headers kate checks, with the prefix each carries before the hex digest.
    /// GitHub's is the one registry signature in use; the others send a configured header.
    static let signatureHeaders: [(name: String, prefix: String)] = [("X-Hub-Signature-256", "sha256=")]

    public enum Verdict: Sendable, Equatable {
        case accepted(method: String)
        case rejected(reason: String)
    }

    /// Checks `request`; the reason of a rejection is safe to send back (it never echoes a secret).
    public func verify(_ request: HTTPRequest) -> Verdict {
        var tried: [String] = []
        if let token {
            if let presented = presentedToken(request) {
                if ConstantTime.equal(Array(presented.utf8), token) { return .accepted(method: "token") }
                tried.append("the bearer token does not match --events-token-file")
            }
        }
        if let hmacSecret {
            for header in Self.signatureHeaders {
                guard let value = request.headers[header.name] else { continue }
                let hex = value.hasPrefix(header.prefix) ? String(value.dropFirst(header.prefix.count)) : value
                if HMACSHA256.isValid(signatureHex: hex, key: hmacSecret, message: request.body) { return .accepted(method: "hmac") }
                tried.append("\(header.name) is not the HMAC-SHA256 of the body under --events-hmac-secret-file")
            }
        }
        if !tried.isEmpty { return .rejected(reason: tried.joined(separator: "; ")) }
        var wanted: [String] = []
        if token != nil { wanted.append("Authorization: Bearer <token> (or ?token=<token>)") }
        if hmacSecret != nil { wanted.append("X-Hub-Signature-256: sha256=<HMAC-SHA256 hex of the body>") }
        return .rejected(reason: "no credentials: send " + wanted.joined(separator: " or "))
    }

    /// `Authorization: Bearer <token>`, or `?token=` for senders that cannot set headers (Docker Hub, Quay).
    private func presentedToken(_ request: HTTPRequest) -> String? {
        if let header = request.headers["Authorization"] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return parts[1].trimmingCharacters(in: .whitespaces) }
            return header
        }
        return request.queryParameter("token")
    }
}
