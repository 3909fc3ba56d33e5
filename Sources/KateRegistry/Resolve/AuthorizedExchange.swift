import KateNet
import Logging
import Synchronization

/// Sends one registry request, answering auth challenges with each candidate credential in turn
/// (most specific first, the one that worked last time before the others, anonymous last).
final class AuthorizedExchange: Sendable {
    let transport: RegistryTransport
    let authenticator: Authenticator
    /// `host/repository` → identity of the credential that worked there last.
    private let preferred = Mutex<[String: String]>([:])
    let logger: Logger

    init(transport: RegistryTransport, authenticator: Authenticator, logger: Logger) {
        self.transport = transport
        self.authenticator = authenticator
        self.logger = logger
    }

    struct Outcome: Sendable {
        let response: HTTPClientResponse
        /// The credential whose Authorization got this response; nil when none was sent.
        let credential: Credential?
    }

    /// What was tried, for the 401 error message.
    struct Unauthorized: Error, Sendable {
        let status: Int
        let detail: String
        /// A credential's token was refused for lacking the scope (`insufficient_scope`): authz, not auth.
        var scopeDenied = false
    }

    func send(
        method: String, url: String, endpoint: RegistryEndpoint, repository: String, credentials: [Credential],
        deadline: ContinuousClock.Instant
    ) async throws -> Outcome {
        var request = HTTPClientRequest(method: method, url: url)
        request.headers.add(name: "Accept", value: ManifestMediaType.accept)
        var lastStatus = 401
        var scopeDenied = false
        var notes: [String] = []
        var first = true
        for credential in ordered(credentials, endpoint: endpoint, repository: repository) as [Credential?] {
            let who = credential?.label ?? "anonymous"
            ResolutionTrace.record(.attempt(endpoint: endpoint.host, credential: who))
            var authorization: String?
            // With credentials, only the first request to a host finds out how it authenticates;
            // concurrent ones wait for its answer rather than each paying an unauthenticated 401
            // round trip. Anonymous requests never wait: on an open registry (the common local
            // case) the wait would cost a round trip and save nothing.
            var discoverer = false
            let known: AuthChallenge?
            if first, credential != nil {
                switch await authenticator.discovery(endpoint: endpoint, deadline: deadline) {
                case .known(let challenge): known = challenge
                case .discoverer: known = nil; discoverer = true
                }
            } else {
                known = authenticator.knownChallenge(host: endpoint.host)
            }
            first = false
            if discoverer { ResolutionTrace.record(.note("first request to \(endpoint.host): sent without credentials to learn how it authenticates")) }
            if let known {
                authorization = try await authorize(known, endpoint, repository, credential, deadline, notes: &notes, who: who)
                if authorization == nil, credential != nil, known.scheme == "bearer" { continue }
            }
            var response: HTTPClientResponse
            do {
                response = try await transport.tracedSend(with(request, authorization), endpoint: endpoint, deadline: deadline)
            } catch {
                if discoverer { authenticator.discovered(host: endpoint.host, status: nil) }
                throw error
            }
            if discoverer, response.status != 401 { authenticator.discovered(host: endpoint.host, status: response.status) }
            if response.status == 401 {
                let offered = AuthChallenge.parse(headerValues: response.headers.values(for: "WWW-Authenticate"))
                let chosen = authenticator.remember(offered, host: endpoint.host)
                ResolutionTrace.record(.challenge(
                    scheme: chosen?.scheme ?? offered.first?.scheme ?? "none", realm: chosen?.realm, service: chosen?.service,
                    error: chosen?.parameters["error"]))
                guard let fresh = chosen else {
                    if discoverer { authenticator.discovered(host: endpoint.host, status: 401) }
                    throw Unauthorized(status: 401, detail: "answered 401 without a usable WWW-Authenticate challenge")
                }
                // The token we sent up front was refused (expired or revoked early): forget it.
                if let known, authorization != nil { authenticator.invalidate(challenge: known, repository: repository, credential: credential) }
                guard let retry = try await authorize(fresh, endpoint, repository, credential, deadline, notes: &notes, who: who) else {
                    lastStatus = 401
                    continue
                }
                authorization = retry
                response = try await transport.tracedSend(with(request, retry), endpoint: endpoint, deadline: deadline)
            }
            if response.status == 401 || response.status == 403 {
                lastStatus = response.status
                let insufficientScope = credential != nil && authorization != nil
                    && AuthChallenge.parse(headerValues: response.headers.values(for: "WWW-Authenticate")).contains { $0.parameters["error"] == "insufficient_scope" }
                scopeDenied = scopeDenied || insufficientScope
                notes.append("\(who): registry answered \(response.status)" + (insufficientScope ? " insufficient_scope" : ""))
                logger.debug("credential not accepted, trying the next", metadata: ["host": "\(endpoint.host)", "repository": "\(repository)", "credential": "\(who)"])
                continue
            }
            let used = authorization == nil ? nil : credential
            if let used { remember(used, endpoint: endpoint, repository: repository) }
            return Outcome(response: response, credential: used)
        }
        let detail = "answered \(lastStatus)" + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")")
        throw Unauthorized(status: lastStatus, detail: detail, scopeDenied: scopeDenied)
    }

    private func remember(_ credential: Credential, endpoint: RegistryEndpoint, repository: String) {
        preferred.withLock { map in
            // A hint, not state: dropping it all when it grows large only costs a retried credential.
            if map.count >= 10_000 { map.removeAll() }
            map[endpoint.host + "/" + repository] = credential.identity
        }
    }

    /// The credential that worked last time goes first; anonymous is always the last resort (a
    /// stale secret must not block a public image).
    private func ordered(_ credentials: [Credential], endpoint: RegistryEndpoint, repository: String) -> [Credential?] {
        var list = credentials
        if let identity = preferred.withLock({ $0[endpoint.host + "/" + repository] }),
            let index = list.firstIndex(where: { $0.identity == identity }), index > 0
        {
            list.insert(list.remove(at: index), at: 0)
        }
        return list.map { Optional($0) } + [nil]
    }

    private func authorize(
        _ challenge: AuthChallenge, _ endpoint: RegistryEndpoint, _ repository: String, _ credential: Credential?,
        _ deadline: ContinuousClock.Instant, notes: inout [String], who: String
    ) async throws -> String? {
        do {
            return try await authenticator.authorization(for: challenge, endpoint: endpoint, repository: repository, credential: credential, deadline: deadline)
        } catch AuthFailure.rejected(let realm, let status) {
            notes.append("\(who): token endpoint \(realm) answered \(status)")
            return nil
        }
    }

    private func with(_ request: HTTPClientRequest, _ authorization: String?) -> HTTPClientRequest {
        var copy = request
        if let authorization { copy.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        return copy
    }
}
