import Foundation
import KateNet
import Logging
import Synchronization

/// Why no Authorization could be produced for a credential.
enum AuthFailure: Error, Sendable {
    /// The token endpoint refused the credential (401/403).
    case rejected(realm: String, status: Int)
    /// The token endpoint failed (5xx, bad JSON, unreachable).
    case tokenEndpoint(realm: String, detail: String)
    case transport(TransportFailure)
}

/// Turns challenges into Authorization headers: remembers each API host's challenge (so later
/// requests authenticate up front instead of paying a 401 round trip), and caches bearer tokens
/// per (realm, service, scope, credential identity) until shortly before they expire.
final class Authenticator: Sendable {
    private struct TokenKey: Hashable, Sendable {
        let realm: String
        let service: String
        let scope: String
        /// Part of the key so that a token minted for team A's credential is never sent on behalf of team B.
        let identity: String
    }

    /// What kate knows about how an API host authenticates.
    private enum HostAuth {
        /// A first request is out to find out; concurrent requests wait for its answer instead of
        /// each paying an anonymous 401 round trip of their own.
        case discovering(OneShotSignal)
        case challenged(AuthChallenge)
        /// Answered without asking for credentials.
        case open
    }

    /// How a request should start, given what is known about its host.
    enum Discovery {
        /// Authenticate up front with this challenge (nil: the host asked for none so far).
        case known(AuthChallenge?)
        /// Nobody knows yet: send the request as it is and report with `discovered(host:…)`.
        case discoverer
    }

    private let transport: RegistryTransport
    private let logger: Logger
    private let hosts = Mutex<[String: HostAuth]>([:])
    private let tokens: ExpiringCache<TokenKey, String>
    private let tokenFlights = SingleFlight<TokenKey, String>()

    init(transport: RegistryTransport, cacheLimit: Int, logger: Logger) {
        self.transport = transport
        self.logger = logger
        // Each token is stored for its own lifetime; 60 s is the token spec's default `expires_in`.
        self.tokens = ExpiringCache(capacity: cacheLimit, timeToLive: .seconds(60))
    }

    /// The challenge this host answered with last time, if any.
    func knownChallenge(host: String) -> AuthChallenge? {
        hosts.withLock { map in
            if case .challenged(let challenge) = map[host] { return challenge }
            return nil
        }
    }

    /// What to do before the first request to `endpoint`'s host: when another request is already
    /// finding out how the host authenticates, waits for it (up to `deadline`) and uses its answer,
    /// opening this caller's connection meanwhile.
    func discovery(endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async -> Discovery {
        let host = endpoint.host
        enum Step { case answer(Discovery), wait(OneShotSignal) }
        let step = hosts.withLock { map -> Step in
            switch map[host] {
            case .challenged(let challenge): return .answer(.known(challenge))
            case .open: return .answer(.known(nil))
            case .discovering(let signal): return .wait(signal)
            case nil:
                map[host] = .discovering(OneShotSignal())
                return .answer(.discoverer)
            }
        }
        switch step {
        case .answer(let discovery):
            return discovery
        case .wait(let signal):
            // The discoverer's answer is a connection, a TLS handshake and a 401 away; this caller's
            // own connection is ready by then, so it sends the moment the challenge is known.
            async let connected: Void = transport.preconnect(endpoint, deadline: deadline)
            await signal.wait(until: deadline)
            await connected
            // The discoverer failed or this caller's deadline came first: go on without gating
            // (what the next response says is remembered all the same).
            return .known(knownChallenge(host: host))
        }
    }

    /// The discoverer's report: `status` of its unauthenticated request, or nil when it failed
    /// before an answer (the next request finds out instead). Wakes the waiters either way.
    func discovered(host: String, status: Int?) {
        let signal = hosts.withLock { map -> OneShotSignal? in
            guard case .discovering(let signal) = map[host] else { return nil }
            switch status {
            case nil: map[host] = nil
            case 401: break  // remember(_:host:) has stored the challenge, or nothing usable came
            default: map[host] = .open
            }
            if case .discovering = map[host] { map[host] = nil }
            return signal
        }
        signal?.fire()
    }

    /// Picks the challenge kate can answer (Bearer before Basic) and remembers it for the host.
    func remember(_ all: [AuthChallenge], host: String) -> AuthChallenge? {
        guard let chosen = all.first(where: { $0.scheme == "bearer" && $0.realm != nil }) ?? all.first(where: { $0.scheme == "basic" }) else {
            return nil
        }
        let signal = hosts.withLock { map -> OneShotSignal? in
            defer { map[host] = .challenged(chosen) }
            if case .discovering(let signal) = map[host] { return signal }
            return nil
        }
        signal?.fire()
        return chosen
    }

    /// Forgets a cached token that the registry just rejected (revoked or expired early).
    func invalidate(challenge: AuthChallenge, repository: String, credential: Credential?) {
        guard let key = tokenKey(challenge, repository: repository, credential: credential) else { return }
        tokens.remove(key)
    }

    /// The Authorization value for `credential` under `challenge`; nil when the challenge cannot be
    /// answered with it (Basic without credentials).
    func authorization(
        for challenge: AuthChallenge, endpoint: RegistryEndpoint, repository: String, credential: Credential?,
        deadline: ContinuousClock.Instant
    ) async throws -> String? {
        switch challenge.scheme {
        case "basic":
            guard let credential, let user = credential.username else { return nil }
            return HTTPAuthorization.basic(user: user, password: credential.password ?? "")
        case "bearer":
            // A registry token is already a bearer token for this registry: no exchange needed.
            if let registryToken = credential?.registryToken { return "Bearer " + registryToken }
            guard let key = tokenKey(challenge, repository: repository, credential: credential) else { return nil }
            if let cached = tokens.value(for: key) {
                ResolutionTrace.record(.token(
                    realm: key.realm, service: challenge.service, scope: key.scope, credential: credential?.label ?? "anonymous", status: nil, cached: true))
                return "Bearer " + cached
            }
            let token = try await tokenFlights.run(key, deadline: deadline) { [self] in
                let response = try await fetchToken(key: key, endpoint: endpoint, credential: credential, deadline: deadline)
                tokens.set(response.token, for: key, ttl: response.cacheLifetime)
                return response.token
            }
            return "Bearer " + token
        default:
            return nil
        }
    }

    private func tokenKey(_ challenge: AuthChallenge, repository: String, credential: Credential?) -> TokenKey? {
        guard challenge.scheme == "bearer", let realm = challenge.realm else { return nil }
        return TokenKey(
            realm: realm, service: challenge.service ?? "", scope: "repository:\(repository):pull",
            identity: credential?.identity ?? CacheKey.anonymous)
    }

    private func fetchToken(key: TokenKey, endpoint: RegistryEndpoint, credential: Credential?, deadline: ContinuousClock.Instant) async throws -> TokenResponse {
        guard let realm = URLParts(key.realm) else {
            throw AuthFailure.tokenEndpoint(realm: key.realm, detail: "realm is not an http(s) URL")
        }
        let sendCredentials = credential != nil && Self.realmMayReceiveCredentials(realm, endpoint: endpoint)
        if credential != nil, !sendCredentials {
            logger.warning(
                "not sending credentials to a token realm on another host over plain http; asking anonymously",
                metadata: ["realm": "\(key.realm)", "registry": "\(endpoint.host)"])
        }
        var query = "scope=" + QueryEncoding.encode(key.scope)
        if !key.service.isEmpty { query = "service=" + QueryEncoding.encode(key.service) + "&" + query }
        var request = HTTPClientRequest(method: "GET", url: realm.string + (realm.pathAndQuery.contains("?") ? "&" : "?") + query)
        if sendCredentials, let credential {
            if let refresh = credential.identityToken {
                // OAuth2 refresh-token grant, as docker login's identity tokens require.
                let form = "grant_type=refresh_token&client_id=kate&service=\(QueryEncoding.encode(key.service))"
                    + "&scope=\(QueryEncoding.encode(key.scope))&refresh_token=\(QueryEncoding.encode(refresh))"
                request = HTTPClientRequest(method: "POST", url: realm.string, body: Array(form.utf8))
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            } else if let user = credential.username {
                request.headers.add(name: "Authorization", value: HTTPAuthorization.basic(user: user, password: credential.password ?? ""))
            }
        }
        let realmEndpoint = RegistryEndpoint(registry: endpoint.registry, host: realm.authority, scheme: realm.scheme, tls: endpoint.tls, isMirror: false)
        let response: HTTPClientResponse
        do {
            response = try await transport.tracedSend(request, endpoint: realmEndpoint, deadline: deadline)
        } catch let failure as TransportFailure {
            throw AuthFailure.transport(failure)
        }
        ResolutionTrace.record(.token(
            realm: key.realm, service: key.service.isEmpty ? nil : key.service, scope: key.scope,
            credential: sendCredentials ? credential?.label ?? "anonymous" : "anonymous", status: response.status, cached: false))
        switch response.status {
        case 200:
            guard let token = TokenResponse.parse(response.body) else {
                throw AuthFailure.tokenEndpoint(realm: key.realm, detail: "answer has no token or access_token")
            }
            return token
        case 401, 403:
            throw AuthFailure.rejected(realm: key.realm, status: response.status)
        default:
            throw AuthFailure.tokenEndpoint(realm: key.realm, detail: "HTTP \(response.status)")
        }
    }

    /// Credentials go to an https realm, or to a plain-http realm on the registry's own host
    /// (a local test registry); never in clear text to some other host a 401 named.
    static func realmMayReceiveCredentials(_ realm: URLParts, endpoint: RegistryEndpoint) -> Bool {
        if realm.scheme == "https" { return true }
        guard let registry = URLParts(endpoint.baseURL) else { return false }
        return realm.host == registry.host
    }
}
