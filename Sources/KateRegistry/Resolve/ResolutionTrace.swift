import KateNet
import Synchronization

/// Receives each step of a resolution as it happens (`kate resolve --explain`).
public protocol ResolutionTracing: Sendable {
    func record(_ step: ResolutionStep)
}

/// The recorder of the current task, if any. Task-local rather than a parameter so the resolver's
/// signatures stay as they are and the webhook and the sweeper (which never bind one) pay only a
/// task-local read per hook: every hook goes through `record(_:)`, whose step is an autoclosure, so
/// without a recorder no step value, string or array is ever built. Unstructured tasks the resolver
/// starts (its single flights) inherit the binding, so their steps land in the caller's trace.
public enum ResolutionTrace {
    @TaskLocal public static var current: (any ResolutionTracing)?

    /// Records `step` with the task's recorder; does nothing (and evaluates nothing) without one.
    @inline(__always)
    static func record(_ step: @autoclosure () -> ResolutionStep) {
        guard let recorder = current else { return }
        recorder.record(step())
    }

    /// Runs `body` with a fresh recorder bound and returns what it recorded alongside its result.
    public static func recording<T: Sendable>(
        _ body: () async throws -> T
    ) async -> (steps: [ResolutionStep], result: Result<T, any Error>) {
        let recorder = ResolutionRecorder()
        let result: Result<T, any Error>
        do {
            let value = try await $current.withValue(recorder) { try await body() }
            result = .success(value)
        } catch {
            result = .failure(error)
        }
        return (recorder.steps, result)
    }
}

/// Keeps the steps in the order they were recorded.
public final class ResolutionRecorder: ResolutionTracing {
    private let recorded = Mutex<[ResolutionStep]>([])

    public init() {}

    public func record(_ step: ResolutionStep) { recorded.withLock { $0.append(step) } }

    public var steps: [ResolutionStep] { recorded.withLock { $0 } }
}

/// One step of a resolution. Encoded for `--output json` as `{"<case>": {…fields}}`.
public enum ResolutionStep: Sendable, Equatable, Encodable {
    /// The reference as parsed and the endpoints asked, in order (mirrors first; Docker Hub's
    /// `docker.io` is served by `registry-1.docker.io`).
    case reference(original: String, normalized: String, endpoints: [String])
    /// Every credential source in keyring order, with its `auths` keys and which of them match the image.
    case credentials(sources: [CredentialSourceMatch])
    /// What the resolver's memory said before (or instead of) asking the registry.
    case cache(state: CacheState, detail: String?)
    /// The next credential tried against an endpoint ("anonymous" last).
    case attempt(endpoint: String, credential: String)
    /// A 401's `WWW-Authenticate` challenge.
    case challenge(scheme: String, realm: String?, service: String?, error: String?)
    /// A bearer token: fetched (with the token endpoint's status) or reused from the token cache.
    case token(realm: String, service: String?, scope: String, credential: String, status: Int?, cached: Bool)
    /// A request sent: its Accept list and the Authorization scheme (never the credential itself).
    case request(method: String, url: String, accept: String?, authorization: String?)
    /// The answer's status and the headers that decide a resolution.
    case response(method: String, url: String, status: Int, headers: [HeaderField])
    /// A request that got no HTTP answer.
    case transportError(method: String, url: String, error: String)
    /// Something the resolver decided in between (a GET after a HEAD without a digest, a hashed body).
    case note(String)
    /// An index's platform manifests.
    case platforms(index: String, manifests: [PlatformManifest])
    /// How the lookup ended.
    case verdict(Verdict)

    public struct Verdict: Sendable, Equatable, Encodable {
        public var digest: String?
        public var mediaType: String?
        /// `registry`, `cache` or `stale` for a digest.
        public var source: String?
        /// The failure class for a failure.
        public var failureClass: FailureClass?
        public var message: String?
        public var fix: String?

        public init(
            digest: String? = nil, mediaType: String? = nil, source: String? = nil, failureClass: FailureClass? = nil, message: String? = nil,
            fix: String? = nil
        ) {
            self.digest = digest
            self.mediaType = mediaType
            self.source = source
            self.failureClass = failureClass
            self.message = message
            self.fix = fix
        }

        enum CodingKeys: String, CodingKey { case digest, mediaType, source, failureClass = "class", message, fix }
    }
}

/// What the resolver's caches answered for a tag.
public enum CacheState: String, Sendable, Equatable, Encodable {
    /// A fresh digest: no request.
    case hit
    /// Nothing known: the registry is asked.
    case miss
    /// A recent definitive failure (not found, unauthorized) answered from memory.
    case negative
    /// A recent transport failure of this tag answered from memory.
    case unreachable
    /// The registry failed; the last known digest was served (stale-if-error).
    case stale
    /// Every endpoint's circuit breaker is open: not asked.
    case circuitOpen = "circuit-open"
}

/// One credential source and how its keys relate to the image.
public struct CredentialSourceMatch: Sendable, Equatable, Encodable {
    /// "imagePullSecret team-a/regcred", "docker config /root/.docker/config.json".
    public let label: String
    /// The source's `auths` keys as written.
    public let keys: [String]
    /// The keys that match the image's registry and repository.
    public let matched: [String]

    public init(label: String, keys: [String], matched: [String]) {
        self.label = label
        self.keys = keys
        self.matched = matched
    }
}

public struct HeaderField: Sendable, Equatable, Encodable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension Keyring {
    /// Each source with its keys and the ones matching `repository` on `registry` (for a trace).
    func matches(registry: String, repository: String) -> [CredentialSourceMatch] {
        ImageLocation.with(registry: registry, repository: repository) { image in
            sources.map { source in
                CredentialSourceMatch(
                    label: source.label, keys: source.config.entries.map(\.server),
                    matched: source.candidates.filter { $0.key.matches(image) }.map(\.credential.server))
            }
        } ?? sources.map { CredentialSourceMatch(label: $0.label, keys: $0.config.entries.map(\.server), matched: []) }
    }
}

extension RegistryTransport {
    /// `send`, with the request and its answer recorded when a trace is bound.
    func tracedSend(_ request: HTTPClientRequest, endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        guard let recorder = ResolutionTrace.current else { return try await send(request, endpoint: endpoint, deadline: deadline) }
        let scheme = request.headers["Authorization"].map { String($0.prefix { $0 != " " }) }
        recorder.record(.request(method: request.method, url: request.url, accept: request.headers["Accept"], authorization: scheme))
        do {
            let response = try await send(request, endpoint: endpoint, deadline: deadline)
            let headers = response.headers.filter { Self.tracedHeaders.contains($0.name.lowercased()) || $0.name.lowercased().hasPrefix("ratelimit-") }
            recorder.record(.response(
                method: request.method, url: request.url, status: response.status,
                headers: headers.map { HeaderField(name: $0.name, value: $0.value) }))
            return response
        } catch {
            recorder.record(.transportError(method: request.method, url: request.url, error: "\(error)"))
            throw error
        }
    }

    /// Headers that decide (or explain) a resolution.
    private static let tracedHeaders: Set<String> = [
        "docker-content-digest", "content-type", "www-authenticate", "retry-after", "docker-ratelimit-source", "location",
    ]
}
