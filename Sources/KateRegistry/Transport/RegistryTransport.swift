import KateNet
import Logging
import Synchronization

/// Why an exchange produced no usable response.
enum TransportFailure: Error, Sendable {
    case client(HTTPClientError)
    /// The deadline passed; `step` says what was awaited ("no response to HEAD … within 8 s").
    case timedOut(host: String, step: String)
    /// No concurrency permit became free before the deadline.
    case queueTimeout(host: String)
    case redirect(String)
    /// The host's circuit is open: it failed in transport recently and is not asked again yet.
    case circuitOpen(host: String, CircuitBreaker.Outage)

    /// Failures that say the host cannot be reached (and count towards opening its circuit);
    /// anything with an HTTP answer, and local limits, do not.
    var isUnreachable: Bool {
        switch self {
        case .timedOut: true
        case .client(let error):
            switch error {
            case .connectFailed, .connectionClosed, .dnsFailure, .tlsFailure, .timeout: true
            case .invalidURL, .malformedResponse, .proxyFailure: false
            }
        case .queueTimeout, .redirect, .circuitOpen: false
        }
    }

    var isTimeout: Bool {
        switch self {
        case .timedOut, .client(.timeout): true
        default: false
        }
    }
}

/// Sends requests to registries: a circuit breaker per host, concurrency bounds, Docker Hub
/// rate-limit pacing, bounded redirects (HTTPClient follows none), retries with backoff, the
/// plain-HTTP fallback for loopback registries, and request metrics.
final class RegistryTransport: Sendable {
    private let configuration: ResolverConfiguration
    private let pool: HTTPClientPool
    private let metrics: RegistryMetrics
    private let logger: Logger
    private let global: AsyncSemaphore
    private let perHost = Mutex<[String: AsyncSemaphore]>([:])
    /// Connections being opened ahead per host (`preconnect`).
    private let preconnecting = Mutex<[String: Int]>([:])
    private let rateLimit = Mutex<[String: Int]>([:])
    let circuits: HostCircuits
    /// Hosts allowed to fall back to plain HTTP that turned out to speak it: asked over http://
    /// directly from then on.
    private let plainHTTPHosts = Mutex<Set<String>>([])

    init(
        configuration: ResolverConfiguration, metrics: RegistryMetrics, logger: Logger,
        onRecovered: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.pool = HTTPClientPool(connectTimeout: configuration.connectTimeout, proxy: configuration.proxy, logger: logger)
        self.global = AsyncSemaphore(permits: configuration.globalConcurrency)
        self.circuits = HostCircuits(policy: configuration.circuitBreaker, metrics: metrics, logger: logger, onRecovered: onRecovered)
        // The system CA bundle takes tens of milliseconds to parse: start loading it now, in the
        // background, rather than under the first request's deadline.
        pool.prepare(configuration.endpointTLSConfigurations())
    }

    var clientCount: Int { pool.count }

    func shutdown() async { await pool.shutdown() }

    /// Opens a connection to `endpoint` for a request that has to wait first (for the host's first request to learn
    /// how it authenticates), so that its TCP and TLS handshakes overlap the wait: each of a cold sweep's credentialed
    /// lookups then sends as soon as the challenge is known instead of two round trips later. No more connections are
    /// opened ahead than requests may run at once to the host (`--registry-concurrency`), and none while its circuit
    /// is open.
    func preconnect(_ endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async {
        // The request being waited for holds one of the host's connections already.
        let limit = concurrencyLimit(endpoint) - 1
        let client = pool.client(for: endpoint.tls), url = endpoint.baseURL + "/v2/"
        // Connections opened ahead and still idle count too: otherwise each waiter, once the one before it had
        // finished its handshake, opened another, and a cold sweep of 40 lookups opened 37 connections for 32 permits.
        let idle = client.idleConnectionCount(for: url)
        let admitted = preconnecting.withLock { map in
            guard map[endpoint.host, default: 0] + idle < limit else { return false }
            map[endpoint.host, default: 0] += 1
            return true
        }
        guard admitted else { return }
        defer { preconnecting.withLock { $0[endpoint.host, default: 1] -= 1 } }
        guard circuits.state(host: endpoint.host) == .closed else { return }
        await client.preconnect(to: url, deadline: deadline)
    }

    /// One logical request: retried on 5xx/429/connection failures while the deadline allows,
    /// following redirects. The final response is returned whatever its status. Fails at once
    /// while the host's circuit is open.
    func send(_ original: HTTPClientRequest, endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        var request = original
        request.headers.replaceOrAdd(name: "User-Agent", value: configuration.userAgent)
        var attempt = 0
        var lastFailure: TransportFailure?
        while true {
            let admission = circuits.admit(host: endpoint.host, ticket: ProbeTickets.current[endpoint.host])
            if case .reject(let outage) = admission {
                // Mid-retry, the failure that opened the circuit says more than "circuit open".
                throw lastFailure ?? TransportFailure.circuitOpen(host: endpoint.host, outage)
            }
            let probing = admission == .probe
            let delay: Duration
            do {
                let response = try await withPermits(endpoint, deadline: deadline) {
                    try await exchange(request, endpoint: endpoint, deadline: deadline)
                }
                circuits.recordAnswer(host: endpoint.host, registry: endpoint.registry)
                guard Self.isRetryable(status: response.status), let wait = retryDelay(attempt: attempt, response: response, deadline: deadline) else {
                    return response
                }
                logger.debug("registry answered \(response.status), retrying", metadata: ["host": "\(endpoint.host)", "attempt": "\(attempt + 1)", "delay": "\(wait)"])
                LookupProgress.begin("retrying \(request.method) \(request.url) after HTTP \(response.status)")
                delay = wait
            } catch let failure as TransportFailure {
                if failure.isUnreachable, !Task.isCancelled {
                    circuits.recordFailure(host: endpoint.host, registry: endpoint.registry, Self.describe(failure), opensAtOnce: failure.isTimeout)
                } else if probing {
                    circuits.abandonProbe(host: endpoint.host)
                }
                lastFailure = failure
                // Once this failure has opened (or, from a probe, reopened) the host's circuit, the retry would only be
                // refused after its backoff: answer now. (A failed probe on a refusing registry slept its retry delay
                // first, the one slow review of an outage burst.)
                guard case .client(let clientError) = failure, Self.isRetryable(clientError),
                    circuits.state(host: endpoint.host) == .closed,
                    let wait = retryDelay(attempt: attempt, response: nil, deadline: deadline)
                else { throw failure }
                logger.debug("registry request failed, retrying", metadata: ["host": "\(endpoint.host)", "error": "\(clientError)"])
                LookupProgress.begin("retrying \(request.method) \(request.url) after: \(clientError)")
                delay = wait
            } catch {
                if probing { circuits.abandonProbe(host: endpoint.host) }
                throw error
            }
            // Outside the `do`: a cancelled wait ends the lookup with `CancellationError` (it once
            // went unnoticed and the cancelled lookup sent its request once more).
            try await Task.sleep(for: delay)
            attempt += 1
        }
    }

    private static func describe(_ failure: TransportFailure) -> String {
        switch failure {
        case .client(let error): error.description
        case .timedOut(let host, let step): "\(host): \(step)"
        case .queueTimeout(let host): "\(host): no free connection slot"
        case .redirect(let detail): detail
        case .circuitOpen(let host, _): "\(host): circuit open"
        }
    }

    /// A plain-HTTP fallback host that spoke plain HTTP before is asked over http:// directly; an
    /// https:// attempt that meets a plain-HTTP server is retried once over http://.
    private func exchange(_ request: HTTPClientRequest, endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        guard endpoint.plainHTTPFallback, request.url.hasPrefix("https://") else {
            return try await followRedirects(request, endpoint: endpoint, deadline: deadline)
        }
        if plainHTTPHosts.withLock({ $0.contains(endpoint.host) }) {
            return try await followRedirects(Self.downgraded(request), endpoint: endpoint, deadline: deadline)
        }
        do {
            return try await followRedirects(request, endpoint: endpoint, deadline: deadline)
        } catch TransportFailure.client(.tlsFailure(let host, let message)) where TLSDiagnosis.serverSpeaksPlainHTTP(message) {
            logger.info(
                "registry speaks plain HTTP: using http:// (allowed for loopback and --insecure-registry hosts)",
                metadata: ["registry": "\(endpoint.host)", "tls_error": "\(host): \(message)"])
            plainHTTPHosts.withLock { _ = $0.insert(endpoint.host) }
            return try await followRedirects(Self.downgraded(request), endpoint: endpoint, deadline: deadline)
        }
    }

    private static func downgraded(_ request: HTTPClientRequest) -> HTTPClientRequest {
        var copy = request
        if copy.url.hasPrefix("https://") { copy.url = "http://" + copy.url.dropFirst("https://".count) }
        return copy
    }

    static func isRetryable(status: Int) -> Bool { status == 429 || status == 500 || status == 502 || status == 503 || status == 504 }

    static func isRetryable(_ error: HTTPClientError) -> Bool {
        switch error {
        case .connectFailed, .connectionClosed: true
        case .invalidURL, .dnsFailure, .tlsFailure, .timeout, .malformedResponse, .proxyFailure: false
        }
    }

    /// The retry policy's backoff, or the server's `Retry-After`; nil when out of attempts or when
    /// waiting would overrun the deadline (the caller reports the failure now rather than time out
    /// later with a vaguer message). `attempt` counts retries so far (0 before the first retry).
    private func retryDelay(attempt: Int, response: HTTPClientResponse?, deadline: ContinuousClock.Instant) -> Duration? {
        let retryAfter = response.flatMap { RetryAfter.parse($0.headers["Retry-After"]) }
        guard let delay = configuration.retryPolicy.delay(afterAttempt: attempt + 1, retryAfter: retryAfter) else { return nil }
        // Leave room for the retried request itself (a round trip at least).
        guard ContinuousClock.now + delay + .milliseconds(50) < deadline else { return nil }
        return delay
    }

    /// Requests that may run at once to `endpoint`'s host (`--registry-concurrency`, or the registry's own setting).
    private func concurrencyLimit(_ endpoint: RegistryEndpoint) -> Int {
        // Settings are keyed by the name images use (docker.io) or by the host dialled; the bound is per host.
        let settings = configuration.registries[endpoint.host] ?? configuration.registries[endpoint.registry]
        return settings?.maxConcurrentRequests ?? configuration.perRegistryConcurrency
    }

    private func withPermits<T: Sendable>(
        _ endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant, _ body: () async throws -> T
    ) async throws -> T {
        let host = endpoint.host
        let local = perHost.withLock { map in
            if let s = map[host] { return s }
            let s = AsyncSemaphore(permits: concurrencyLimit(endpoint))
            map[host] = s
            return s
        }
        // Per-registry first: requests queued behind one saturated registry must not sit on global
        // permits that requests to other registries could use.
        LookupProgress.begin("no free connection slot to \(host) (--registry-concurrency)")
        do {
            try await local.acquire(deadline: deadline)
        } catch {
            throw TransportFailure.queueTimeout(host: host)
        }
        defer { local.release() }
        do {
            try await global.acquire(deadline: deadline)
        } catch {
            throw TransportFailure.queueTimeout(host: host)
        }
        defer { global.release() }
        await paceIfRateLimited(host: host, deadline: deadline)
        return try await body()
    }

    /// Docker Hub counts pulls per 6 h; when `ratelimit-remaining` runs low, space requests out so
    /// a rollout storm does not burn the rest of the window (HEADs are free, GET fallbacks are not).
    private func paceIfRateLimited(host: String, deadline: ContinuousClock.Instant) async {
        guard let remaining = rateLimit.withLock({ $0[host] }), remaining <= configuration.rateLimitLowWatermark else { return }
        let pause = Duration.milliseconds(100) * (configuration.rateLimitLowWatermark - remaining + 1)
        let capped = min(pause, .seconds(2))
        guard ContinuousClock.now + capped < deadline else { return }
        logger.debug("pacing requests: registry rate limit low", metadata: ["host": "\(host)", "remaining": "\(remaining)"])
        try? await Task.sleep(for: capped)
    }

    private func followRedirects(_ first: HTTPClientRequest, endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        var request = first
        let client = pool.client(for: endpoint.tls)
        for _ in 0...configuration.maxRedirects {
            let response: HTTPClientResponse
            let started = ContinuousClock.now
            LookupProgress.begin("no response to \(request.method) \(request.url)")
            do {
                response = try await client.execute(request, deadline: deadline)
            } catch let error as HTTPClientError {
                metrics.request(registry: endpoint.registry, method: request.method, code: "error")
                if case .timeout(let host, let phase) = error {
                    throw TransportFailure.timedOut(host: host, step: Self.step(phase, request, host: host, waited: ContinuousClock.now - started))
                }
                throw TransportFailure.client(error)
            } catch is CancellationError {
                metrics.request(registry: endpoint.registry, method: request.method, code: "error")
                throw CancellationError()
            } catch {
                metrics.request(registry: endpoint.registry, method: request.method, code: "error")
                throw TransportFailure.client(.connectionClosed(host: endpoint.host, message: "\(error)"))
            }
            metrics.request(registry: endpoint.registry, method: request.method, code: String(response.status))
            recordRateLimit(response, endpoint: endpoint)
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["Location"] else {
                return response
            }
            guard let from = URLParts(request.url), let to = from.resolving(location) else {
                throw TransportFailure.redirect("\(endpoint.host) redirected to an invalid location \(location)")
            }
            // Credentials are for the origin that asked for them; never forward them elsewhere.
            if to.origin != from.origin { request.headers.remove(name: "Authorization") }
            if from.scheme == "https", to.scheme == "http" {
                throw TransportFailure.redirect("\(endpoint.host) redirected from https to plain http (\(to.origin)); refusing to downgrade")
            }
            if response.status == 303 { request.method = request.method == "HEAD" ? "HEAD" : "GET"; request.body = [] }
            request.url = to.string
        }
        throw TransportFailure.redirect("\(endpoint.host): more than \(configuration.maxRedirects) redirects")
    }

    /// "no response to HEAD https://r/v2/app/manifests/v1 within 8 s", by the phase that hung.
    static func step(_ phase: String, _ request: HTTPClientRequest, host: String, waited: Duration) -> String {
        let within = LookupProgress.seconds(waited)
        switch phase {
        case "connect": return "no TCP connection to \(host) within \(within)"
        case "tls": return "no TLS handshake with \(host) within \(within)"
        case "request": return "could not send \(request.method) \(request.url) within \(within)"
        case "proxy": return "no answer from the proxy to CONNECT \(host) within \(within)"
        default: return "no response to \(request.method) \(request.url) within \(within)"
        }
    }

    private func recordRateLimit(_ response: HTTPClientResponse, endpoint: RegistryEndpoint) {
        guard let remaining = Self.rateLimitCount(response.headers["ratelimit-remaining"]) else { return }
        rateLimit.withLock { $0[endpoint.host] = remaining }
        metrics.rateLimitRemaining(registry: endpoint.registry, remaining)
        if let limit = Self.rateLimitCount(response.headers["ratelimit-limit"]) { metrics.rateLimitLimit(registry: endpoint.registry, limit) }
    }

    /// The count of a Docker Hub `ratelimit-*` header: "100;w=21600" is 100 per 21600 s.
    private static func rateLimitCount(_ header: String?) -> Int? {
        header.flatMap { Int($0.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? "") }
    }
}
