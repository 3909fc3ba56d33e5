import Foundation
import Logging
import Synchronization

/// Singleflight key: one lookup per tag per set of credentials offered.
struct FlightKey: Hashable, Sendable {
    let registry: String
    let repository: String
    let tag: String
    /// The identities of the candidate credentials, in order ("" = none).
    let identities: String
}

/// One lookup's single-flight key: the tag and credentials, and the invalidation it began under.
struct FlightAttempt: Hashable, Sendable {
    let key: FlightKey
    let epoch: UInt64
}

/// A manifest by digest. No credential identity: a digest names immutable content, so what it
/// is (its media type, an index's children) is the same whoever asks, and a caller can only ask
/// about a digest it already holds.
struct DigestKey: Hashable, Sendable {
    let registry: String
    let repository: String
    let digest: String
}

/// Resolves tags to digests: cache → singleflight → auth → HEAD (→ GET), one instance per process.
public final class Resolver: Sendable {
    let configuration: ResolverConfiguration
    private let logger: Logger
    private let metrics: RegistryMetrics
    private let transport: RegistryTransport
    let fetcher: ManifestFetcher
    /// Fresh answers, by tag, each with the credential that learned it: a hit is one probe.
    private let positive: ExpiringCache<TagKey, TagAnswers>
    private let negative: ExpiringCache<FlightKey, RegistryError>
    /// Tags whose last lookup failed in transport (no HTTP answer), for `transportFailureCacheTTL`.
    private let unreachable: ExpiringCache<FlightKey, RegistryError>
    /// Last known digests for stale-if-error, bounded; read only after a transient failure.
    private let lastKnown: ExpiringCache<CacheKey, ResolvedImage>
    private let flights = SingleFlight<FlightAttempt, ResolvedImage>()
    /// Tag → the sequence number of the `invalidate` that last dropped it. A lookup remembers the
    /// number it started under: one that began before a push neither shares its flight with lookups
    /// after it nor caches what it learned (the digest from before the push).
    private let invalidations: ExpiringCache<TagKey, UInt64>
    private let invalidationSequence = Atomic<UInt64>(0)
    /// Media types of manifests seen (from HEAD's Content-Type or a GET): only an index has
    /// platform children, so a known single-platform digest needs no GET to list them.
    let mediaTypes: ExpiringCache<DigestKey, String>
    /// An index's child digests, fetched once per digest however many credential scopes ask.
    private let children: ExpiringCache<DigestKey, Set<String>>
    private let childFlights = SingleFlight<DigestKey, Set<String>>()
    /// An index's platforms, for the platform-coverage gate (IndexPlatforms.swift).
    let platformLists = ExpiringCache<DigestKey, PlatformList>(capacity: 4096, timeToLive: .seconds(86_400))
    let platformFlights = SingleFlight<DigestKey, PlatformList>()
    /// Immutable content: kept as long as the bound allows.
    private static let digestFactsTTL = Duration.seconds(86_400)
    /// How long a digest is good for stale-if-error.
    private static let lastKnownTTL = Duration.seconds(7 * 86_400)

    public init(configuration: ResolverConfiguration = .init(), logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = RegistryMetrics(factory: configuration.metricsFactory)
        let unreachable = ExpiringCache<FlightKey, RegistryError>(capacity: configuration.cacheLimit, timeToLive: configuration.transportFailureCacheTTL)
        self.unreachable = unreachable
        // A registry whose circuit closes again is reachable: forget its tags' transport failures.
        self.transport = RegistryTransport(configuration: configuration, metrics: metrics, logger: logger) { registry in
            unreachable.removeAll { $0.registry == registry }
        }
        let authenticator = Authenticator(transport: transport, cacheLimit: configuration.cacheLimit, logger: logger)
        let exchange = AuthorizedExchange(transport: transport, authenticator: authenticator, logger: logger)
        self.fetcher = ManifestFetcher(exchange: exchange)
        self.positive = ExpiringCache(capacity: configuration.cacheLimit, timeToLive: configuration.cacheTTL)
        // Longer than any lookup runs (its deadline is at most `requestTimeout`).
        self.invalidations = ExpiringCache(capacity: configuration.cacheLimit, timeToLive: max(.seconds(60), configuration.requestTimeout * 4))
        self.negative = ExpiringCache(capacity: configuration.cacheLimit, timeToLive: configuration.negativeCacheTTL)
        self.lastKnown = ExpiringCache(capacity: configuration.lastKnownLimit, timeToLive: Self.lastKnownTTL)
        self.mediaTypes = ExpiringCache(capacity: configuration.cacheLimit, timeToLive: Self.digestFactsTTL)
        self.children = ExpiringCache(capacity: configuration.cacheLimit, timeToLive: Self.digestFactsTTL)
        for (registry, settings) in configuration.registries.sorted(by: { $0.key < $1.key }) where settings.insecureSkipVerify {
            logger.warning("TLS certificate verification is DISABLED for this registry (insecureSkipVerify); digests from it can be forged by anyone on the path", metadata: ["registry": "\(registry)"])
        }
    }

    /// Closes idle connections.
    public func shutdown() async { await transport.shutdown() }

    /// Distinct HTTP clients created so far: one per TLS configuration, shared by every registry
    /// with the same trust settings (for tests and diagnostics).
    public var httpClientCount: Int { transport.clientCount }

    /// The circuit state of a registry API host (`127.0.0.1:5000`, `registry-1.docker.io`).
    public func circuitState(host: String) -> CircuitBreaker.State { transport.circuits.state(host: host) }

    /// The digest `reference`'s tag points at now (or within the cache TTL).
    /// A reference that already carries a digest is returned as is, without a request.
    public func resolve(_ reference: ImageReference, keyring: Keyring = .empty, deadline: ContinuousClock.Instant) async throws -> ResolvedImage {
        let started = ContinuousClock.now
        defer { metrics.resolveDuration(ContinuousClock.now - started) }
        if let digest = reference.digest { return Self.given(digest) }
        let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
        // Read once (a task-local read is ~15 ns); nil outside `kate resolve --explain`, and then no step is built.
        let trace = ResolutionTrace.current
        trace?.record(.reference(
            original: reference.original, normalized: reference.description,
            endpoints: configuration.endpoints(for: reference.registry).map { $0.baseURL + ($0.isMirror ? " (mirror)" : "") }))
        trace?.record(.credentials(sources: keyring.matches(registry: reference.registry, repository: reference.repository)))
        if let hit = freshHit(reference, credentials: credentials) {
            trace?.record(.cache(state: .hit, detail: nil))
            return hit
        }
        let tag = reference.trackedTag
        let flightKey = FlightKey(registry: reference.registry, repository: reference.repository, tag: tag, identities: credentials.map(\.identity).joined(separator: ","))
        if let cachedFailure = negative.value(for: flightKey) ?? unreachable.value(for: flightKey) {
            metrics.cache(.hit)
            trace?.record(.cache(state: cachedFailure.isTransportFailure ? .unreachable : .negative, detail: cachedFailure.detail))
            metrics.resolveFailure(cachedFailure.failureClass)
            throw cachedFailure
        }
        metrics.cache(.miss)
        trace?.record(.cache(state: .miss, detail: nil))
        let attempt = FlightAttempt(key: flightKey, epoch: invalidations.value(for: TagKey(registry: reference.registry, repository: reference.repository, tag: tag)) ?? 0)
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        // While every endpoint's circuit is open, or its one half-open probe is out, answer at once. Joining the
        // probe's lookup for the same tag (single flight) would make every caller wait out the probe: behind a
        // hung registry, a full timeout per review while the webhook is meant to be failing open at once.
        let tickets: [String: UInt64]
        switch claimEndpoints(of: reference.registry) {
        case .rejected(let host, let outage):
            trace?.record(.cache(state: .circuitOpen, detail: "\(host): \(outage.lastFailure)"))
            metrics.resolveFailure(.unavailable)
            throw mapping.map(TransportFailure.circuitOpen(host: host, outage), host: reference.registry)
        case .admitted(let claimed):
            tickets = claimed
        }
        defer { for (host, ticket) in tickets { transport.circuits.release(host: host, ticket: ticket) } }
        let deadline = min(deadline, started + configuration.requestTimeout)
        // The probe's caller waits at most `probePatience`; the probe runs on in its flight to `deadline`.
        let waitDeadline = tickets.isEmpty ? deadline : min(deadline, .now + configuration.circuitBreaker.probePatience)
        do {
            return try await ProbeTickets.$current.withValue(tickets) {
                try await flights.run(attempt, deadline: waitDeadline) { [self] in
                    try await lookup(reference, keyring: keyring, credentials: credentials, attempt: attempt, deadline: deadline)
                }
            }
        } catch {
            let mapped = mapping.map(error, host: reference.registry)
            metrics.resolveFailure(mapped.failureClass)
            throw mapped
        }
    }

    private enum EndpointClaims {
        /// Every endpoint refuses; the last one's outage.
        case rejected(host: String, CircuitBreaker.Outage)
        /// Go ahead, holding these probe tickets (host → ticket).
        case admitted([String: UInt64])
    }

    /// Claims the endpoints of `registry` in the order the lookup tries them (mirrors, then upstream) up to the first
    /// one that is healthy: a probe ticket for each whose backoff ran out, so the lookup probes them and no other
    /// caller does.
    private func claimEndpoints(of registry: String) -> EndpointClaims {
        var tickets: [String: UInt64] = [:]
        var last: (host: String, outage: CircuitBreaker.Outage)?
        for endpoint in configuration.endpoints(for: registry) {
            switch transport.circuits.claim(host: endpoint.host) {
            case .proceed:
                return .admitted(tickets)
            case .probe(let ticket):
                tickets[endpoint.host] = ticket
            case .reject(let outage):
                last = (endpoint.host, outage)
            }
        }
        if tickets.isEmpty, let last { return .rejected(host: last.host, last.outage) }
        return .admitted(tickets)
    }

    /// The answer `resolve` would give from its fresh cache, without suspending: nil on a miss.
    /// Lets a caller with many lookups (an admission review) skip starting a task per image when
    /// everything is cached, which is the common case on a busy webhook.
    public func cached(_ reference: ImageReference, keyring: Keyring = .empty) -> ResolvedImage? {
        if let digest = reference.digest { return Self.given(digest) }
        // Credentials are matched only on an anonymous miss: public images, the common case on a
        // busy webhook, then cost one cache probe.
        return freshHit(reference, credentials: keyring.credentials(registry: reference.registry, repository: reference.repository))
    }

    /// Forgets what the caches say about `reference`'s tag — fresh answers for every credential, and
    /// cached 404s and transport failures — so the next `resolve` asks the registry. A push
    /// notification calls this: the tag has just moved. The stale-if-error memory is kept (it is
    /// read only when the registry fails, and then an older digest beats none). A lookup already
    /// in flight when this is called stores nothing, and a `resolve` after it starts a lookup of its
    /// own instead of waiting for that one's answer from before the push.
    public func invalidate(_ reference: ImageReference) {
        let tag = reference.trackedTag
        let tagKey = TagKey(registry: reference.registry, repository: reference.repository, tag: tag)
        // First: a lookup finishing between the two steps must already see that it is out of date.
        invalidations.set(invalidationSequence.add(1, ordering: .relaxed).newValue, for: tagKey)
        positive.remove(tagKey)
        let sameTag: (FlightKey) -> Bool = { $0.registry == reference.registry && $0.repository == reference.repository && $0.tag == tag }
        negative.removeAll(where: sameTag)
        unreachable.removeAll(where: sameTag)
    }

    /// A reference that already names a digest needs no lookup.
    private static func given(_ digest: String) -> ResolvedImage {
        ResolvedImage(digest: digest, mediaType: nil, resolvedAt: Date(), source: .cache)
    }

    /// One cache probe per image, whatever the keyring: the tag's answers come back together and are
    /// matched in `cacheKeys` order (anonymous, then each credential); `credentials` is computed only
    /// when the tag was learned with a credential.
    private func freshHit(_ reference: ImageReference, credentials: @autoclosure () -> [Credential]) -> ResolvedImage? {
        ResolverInstrumentation.current?.countProbe()
        let key = TagKey(registry: reference.registry, repository: reference.repository, tag: reference.trackedTag)
        guard let answers = positive.value(for: key), let hit = answers.fresh(credentials: credentials) else { return nil }
        metrics.cache(.hit)
        return hit.with(source: .cache)
    }

    /// Adds an answer to its tag's entry (read, then write: two lookups of one tag finishing at
    /// the same moment may keep only one answer, which costs the other one lookup later).
    private func remember(_ image: ResolvedImage, for key: CacheKey) {
        let tag = TagKey(registry: key.registry, repository: key.repository, tag: key.tag)
        var answers = positive.value(for: tag) ?? TagAnswers()
        answers.add(image, identity: key.identity, expires: .now + configuration.cacheTTL)
        positive.set(answers, for: tag, ttl: configuration.cacheTTL)
    }

    /// Where an answer for `reference` may be cached: anonymous first, then each credential identity.
    private func cacheKeys(_ reference: ImageReference, credentials: [Credential]) -> [CacheKey] {
        ([CacheKey.anonymous] + credentials.map(\.identity)).map {
            CacheKey(registry: reference.registry, repository: reference.repository, tag: reference.trackedTag, identity: $0)
        }
    }

    /// Like `resolve`, but after a transient failure (timeout, network, 5xx, 429) returns the last
    /// digest this process saw for the tag with the same credentials, if not older than `maxAge`.
    public func resolve(_ reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant, staleIfErrorWithin maxAge: Duration) async throws -> ResolvedImage {
        do {
            return try await resolve(reference, keyring: keyring, deadline: deadline)
        } catch let error as RegistryError where error.isTransient {
            let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
            for key in cacheKeys(reference, credentials: credentials) {
                guard let last = lastKnown.value(for: key), Date().timeIntervalSince(last.resolvedAt) <= maxAge.seconds else { continue }
                metrics.cache(.stale)
                ResolutionTrace.record(.cache(state: .stale, detail: "\(error.failureClass): \(error.detail)"))
                // Per lookup, so debug: the circuit's transition is the line worth reading; `kate_registry_cache_total`
                // {result="stale"} counts these.
                logger.debug("registry failed; serving the last known digest", metadata: [
                    "image": "\(reference)", "digest": "\(last.digest)", "error": "\(error)",
                ])
                return last.with(source: .stale)
            }
            throw error
        }
    }

    /// Digests of the child manifests of an index (what a node reports when it pulled its own
    /// platform); [] when `indexDigest` is a single-platform manifest. A digest whose media type is
    /// already known to be a single manifest costs no request; an index is fetched once.
    public func platformDigests(_ reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
        let key = DigestKey(registry: reference.registry, repository: reference.repository, digest: indexDigest)
        if let mediaType = mediaTypes.value(for: key), ManifestMediaType.isKnown(mediaType), !ManifestMediaType.isIndex(mediaType) { return [] }
        if let known = children.value(for: key) { return known }
        let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        let deadline = min(deadline, ContinuousClock.now + configuration.requestTimeout)
        do {
            return try await childFlights.run(key, deadline: deadline) { [self] in
                try await fetchChildren(key, reference: reference, keyring: keyring, credentials: credentials, deadline: deadline)
            }
        } catch {
            throw mapping.map(error, host: reference.registry)
        }
    }

    /// The platform manifests of an index, with their platforms (`kate resolve --platform`, `--explain`);
    /// [] for a single-platform manifest. Always asks the registry: the CLI's question, not the webhook's.
    public func platformManifests(_ reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> [PlatformManifest] {
        let credentials = keyring.credentials(registry: reference.registry, repository: reference.repository)
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        var lastError: (any Error)?
        for endpoint in configuration.endpoints(for: reference.registry) {
            do {
                let creds = endpoint.isMirror ? keyring.credentials(registry: endpoint.host, repository: reference.repository) : credentials
                let result = try await fetcher.fetch(indexDigest, repository: reference.repository, endpoint: endpoint, credentials: creds, deadline: deadline)
                let manifests = try ManifestDocument.platformManifests(of: result.body ?? [], mediaType: result.mediaType)
                ResolutionTrace.record(.platforms(index: indexDigest, manifests: manifests))
                return manifests
            } catch {
                lastError = error
            }
        }
        throw mapping.map(lastError ?? CancellationError(), host: reference.registry)
    }

    private func fetchChildren(_ key: DigestKey, reference: ImageReference, keyring: Keyring, credentials: [Credential], deadline: ContinuousClock.Instant) async throws -> Set<String> {
        var lastError: (any Error)?
        for endpoint in configuration.endpoints(for: reference.registry) {
            do {
                let creds = endpoint.isMirror ? keyring.credentials(registry: endpoint.host, repository: reference.repository) : credentials
                let result = try await fetcher.fetch(key.digest, repository: reference.repository, endpoint: endpoint, credentials: creds, deadline: deadline)
                let found = Set(try ManifestDocument.childDigests(of: result.body ?? [], mediaType: result.mediaType))
                if let mediaType = result.mediaType { mediaTypes.set(mediaType, for: key, ttl: Self.digestFactsTTL) }
                children.set(found, for: key, ttl: Self.digestFactsTTL)
                // The same body lists the platforms: the platform gate needs no second GET.
                if let list = try? ManifestDocument.platformList(of: result.body ?? [], mediaType: result.mediaType) { platformLists.set(list, for: key) }
                return found
            } catch {
                lastError = error
            }
        }
        throw lastError ?? CancellationError()
    }

    private func lookup(_ reference: ImageReference, keyring: Keyring, credentials: [Credential], attempt: FlightAttempt, deadline: ContinuousClock.Instant) async throws -> ResolvedImage {
        let mapping = ErrorMapping(reference: reference, keyring: keyring, credentials: credentials)
        let flightKey = attempt.key
        let tagKey = TagKey(registry: reference.registry, repository: reference.repository, tag: reference.trackedTag)
        // False once the tag was invalidated after this lookup began: its answer is then not cached.
        func current() -> Bool { (invalidations.value(for: tagKey) ?? 0) == attempt.epoch }
        var lastError: RegistryError?
        var lastHost = reference.registry
        for endpoint in configuration.endpoints(for: reference.registry) {
            let creds = endpoint.isMirror ? keyring.credentials(registry: endpoint.host, repository: reference.repository) : credentials
            do {
                let result = try await fetcher.resolve(reference.trackedTag, repository: reference.repository, endpoint: endpoint, credentials: creds, deadline: deadline)
                let image = ResolvedImage(digest: result.digest, mediaType: result.mediaType, resolvedAt: Date(), source: .registry)
                // Mirror credentials are not the upstream's: cache a mirror answer as public only
                // when it came without credentials, else under the mirror credential's identity.
                let key = CacheKey(registry: reference.registry, repository: reference.repository, tag: reference.trackedTag, identity: result.credential?.identity ?? CacheKey.anonymous)
                if configuration.cacheTTL > .zero, current() { remember(image, for: key) }
                lastKnown.set(image, for: key, ttl: Self.lastKnownTTL)
                if let mediaType = result.mediaType {
                    mediaTypes.set(mediaType, for: DigestKey(registry: reference.registry, repository: reference.repository, digest: result.digest), ttl: Self.digestFactsTTL)
                }
                return image
            } catch {
                let mapped = mapping.map(error, host: endpoint.host)
                lastError = mapped
                lastHost = endpoint.host
                if endpoint.isMirror {
                    logger.debug("mirror failed, trying the next endpoint", metadata: ["mirror": "\(endpoint.host)", "error": "\(mapped)"])
                    continue
                }
            }
        }
        var error = lastError ?? RegistryError(.network, registry: reference.registry, repository: reference.repository, detail: "no endpoint")
        // Since when the host has been unreachable, while its circuit is open: a failed half-open probe says so to its
        // own caller, as every answer of the open circuit around it does (it got the bare error). The lookup that
        // first opened the circuit keeps its own message (a timeout's remedy names --registry-timeout).
        let outageStart = error.isTransportFailure ? transport.circuits.unreachableSince(host: lastHost) : nil
        if let outageStart, ProbeTickets.current[lastHost] != nil { error = error.duringOutage(since: outageStart) }
        // Answers that will not change in the next seconds are remembered briefly, so a crash-looping
        // pod with a typo in its tag does not hit the registry on every restart. Transient failures
        // are not: the next attempt may well succeed.
        let definitive: Set<RegistryError.Kind> = [.tagNotFound, .repositoryNotFound, .unauthorized]
        if !current() {
            // A push since: what the registry said before it is not worth remembering.
        } else if definitive.contains(error.kind), configuration.negativeCacheTTL > .zero {
            negative.set(error, for: flightKey, ttl: configuration.negativeCacheTTL)
        } else if error.isTransportFailure, configuration.transportFailureCacheTTL > .zero {
            unreachable.set(error.remembered(since: outageStart ?? Date()), for: flightKey, ttl: configuration.transportFailureCacheTTL)
        }
        throw error
    }
}

/// A tag, whoever asked for it: the positive cache's key.
private struct TagKey: Hashable, Sendable {
    let registry: String
    let repository: String
    let tag: String
}

/// The fresh answers for one tag, each under the identity that learned it (`CacheKey.anonymous`:
/// public, served to everyone; else only to a keyring holding that credential). Few per tag (one
/// per distinct secret that can read it), bounded so a tag read with many secrets stays small.
private struct TagAnswers: Sendable {
    private var entries: [(identity: String, image: ResolvedImage, expires: ContinuousClock.Instant)] = []
    private static let limit = 8

    mutating func add(_ image: ResolvedImage, identity: String, expires: ContinuousClock.Instant) {
        entries.removeAll { $0.identity == identity || $0.expires <= .now }
        if entries.count >= Self.limit { entries.removeFirst() }
        entries.append((identity, image, expires))
    }

    func fresh(credentials: () -> [Credential]) -> ResolvedImage? {
        let now = ContinuousClock.now
        if let anonymous = entries.first(where: { $0.identity == CacheKey.anonymous && $0.expires > now }) { return anonymous.image }
        guard entries.contains(where: { $0.identity != CacheKey.anonymous && $0.expires > now }) else { return nil }
        for credential in credentials() {
            if let entry = entries.first(where: { $0.identity == credential.identity && $0.expires > now }) { return entry.image }
        }
        return nil
    }
}

/// Counts the resolver's fresh-cache probes for the task that installs it, so a test can show a
/// credentialed hit costs one. Task-local, like `KeyringInstrumentation`.
package final class ResolverInstrumentation: Sendable {
    @TaskLocal package static var current: ResolverInstrumentation?

    private let counts = Mutex(0)

    package init() {}

    package var probes: Int { counts.withLock { $0 } }

    func countProbe() { counts.withLock { $0 += 1 } }
}
