import Foundation
import KateNet
import Synchronization

/// The token endpoint of distribution's token auth, on loopback HTTPS: `GET /token?service=…&scope=…`
/// with optional Basic credentials; answers `{"token","access_token","expires_in"}` with an RS256
/// JWT whose `x5c` chain ends at the test CA the registry trusts (`rootcertbundle`).
public final class TokenServer: Sendable {
    public let service: String
    public let issuer: String
    public var realm: String { "https://127.0.0.1:\(server.port)/token" }

    private let server: LoopbackServer
    private let signer: JWTSigner
    private let counter: RequestCounter

    /// Token requests received so far.
    public var requestCount: Int { counter.value }

    static func start(ca: CertificateAuthority, user: String, password: String, service: String, issuer: String) async throws -> TokenServer {
        let serving = try ca.issue(commonName: "127.0.0.1", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        // RSA key generation takes a while: keep it off the cooperative pool.
        let signing = try await Blocking.run { try ca.issue(commonName: "kate test token signer", dnsNames: [], keyType: .rsa2048, usage: .both) }
        let signer = try JWTSigner(privateKeyPEM: signing.privateKeyPEM, certificatePEM: signing.certificatePEM)
        let counter = RequestCounter()
        let grants = TokenGrants(user: user, password: password, service: service, issuer: issuer, signer: signer)
        let responder = ClosureResponder { request, _ in
            counter.increment()
            return grants.answer(request)
        }
        let tls = try TLSServerContext(certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM), logger: testLogger("token-tls"))
        let server = try await LoopbackServer(responder: responder, tls: tls, logger: testLogger("token-server"))
        return TokenServer(service: service, issuer: issuer, server: server, signer: signer, counter: counter)
    }

    private init(service: String, issuer: String, server: LoopbackServer, signer: JWTSigner, counter: RequestCounter) {
        self.service = service
        self.issuer = issuer
        self.server = server
        self.signer = signer
        self.counter = counter
    }

    /// A token granting `actions` on `repository`, for the test's own pushes.
    func mint(repository: String, actions: [String]) throws -> String {
        try TokenGrants.jwt(signer: signer, subject: "test-pusher", service: service, issuer: issuer,
                            access: [(repository, actions)])
    }

    func stop() async { await server.stop() }
}

/// Decides what a token request gets: everything asked for with the right password, nothing
/// (an empty access list) anonymously, 401 with a wrong password.
struct TokenGrants: Sendable {
    let user: String
    let password: String
    let service: String
    let issuer: String
    let signer: JWTSigner

    func answer(_ request: HTTPRequest) -> HTTPResponse {
        guard request.path == "/token", request.method == "GET" else { return .text(404, "no such endpoint") }
        var subject = "anonymous"
        if let authorization = request.headers["Authorization"] {
            guard authorization == HTTPAuthorization.basic(user: user, password: password) else {
                return .text(401, "invalid username or password")
            }
            subject = user
        }
        var access: [(String, [String])] = []
        if subject != "anonymous" {
            for scope in Self.queryValues("scope", in: request.query ?? "") {
                // repository:<name>:<actions>; the name itself may contain ':' only via a port-less path, never here.
                let parts = scope.split(separator: ":")
                guard parts.count == 3, parts[0] == "repository" else { continue }
                access.append((String(parts[1]), parts[2].split(separator: ",").map(String.init)))
            }
        }
        do {
            let token = try Self.jwt(signer: signer, subject: subject, service: service, issuer: issuer, access: access)
            let body: [String: Any] = ["token": token, "access_token": token, "expires_in": 300,
                                       "issued_at": ISO8601DateFormatter().string(from: Date())]
            return .json(200, Array(try JSONSerialization.data(withJSONObject: body)))
        } catch {
            return .text(500, "cannot sign: \(error)")
        }
    }

    static func jwt(signer: JWTSigner, subject: String, service: String, issuer: String, access: [(String, [String])]) throws -> String {
        let now = Int(Date().timeIntervalSince1970)
        let claims: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": UUID().uuidString,
            "access": access.map { ["type": "repository", "name": $0.0, "actions": $0.1] },
        ]
        return try signer.token(claims: claims)
    }

    static func queryValues(_ name: String, in query: String) -> [String] {
        query.split(separator: "&").compactMap { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, kv[0] == name else { return nil }
            return String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
    }
}

/// A thread-safe counter shared with responder closures.
final class RequestCounter: Sendable {
    private let count = Mutex(0)
    @discardableResult
    func increment() -> Int { count.withLock { $0 += 1; return $0 } }
    var value: Int { count.withLock { $0 } }
}
