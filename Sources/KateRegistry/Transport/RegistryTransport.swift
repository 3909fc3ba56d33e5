import KateNet
import Logging
import Synchronization

/// Why an exchange produced no usable response.
enum TransportFailure: Error, Sendable {
    case client(HTTPClientError)
    /// No concurrency permit became free before the deadline.
    case queueTimeout(host: String)
    case redirect(String)
}

/// Sends requests to registries: concurrency bounds, Docker Hub rate-limit pacing, bounded
/// redirects (HTTPClient follows none), retries with backoff, and request metrics.
final class RegistryTransport: Sendable {
    private let configuration: ResolverConfiguration
    private let pool: HTTPClientPool
    private let metrics: RegistryMetrics
    private let logger: Logger
    private let global: AsyncSemaphore
    private let perHost = Mutex<[String: AsyncSemaphore]>([:])
    private let rateLimit = Mutex<[String: Int]>([:])

    init(configuration: ResolverConfiguration, metrics: RegistryMetrics, logger: Logger) {
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.pool = HTTPClientPool(connectTimeout: configuration.connectTimeout, proxy: configuration.proxy, logger: logger)
        self.global = AsyncSemaphore(permits: configuration.globalConcurrency)
    }

    var clientCount: Int { pool.count }

    func shutdown() async { await pool.shutdown() }

    /// One logical request: retried on 5xx/429/connection failures while the deadline allows,
    /// following redirects. The final response is returned whatever its status.
    func send(_ request: HTTPClientRequest, endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant) async throws -> HTTPClientResponse {
        var attempt = 0
        while true {
            do {
                let response = try await withPermits(endpoint, deadline: deadline) {
                    try await followRedirects(request, endpoint: endpoint, deadline: deadline)
                }
                guard Self.isRetryable(status: response.status), let delay = retryDelay(attempt: attempt, response: response, deadline: deadline) else {
                    return response
                }
                logger.debug("registry answered \(response.status), retrying", metadata: ["host": "\(endpoint.host)", "attempt": "\(attempt + 1)", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
            } catch let failure as TransportFailure {
                guard case .client(let clientError) = failure, Self.isRetryable(clientError),
                    let delay = retryDelay(attempt: attempt, response: nil, deadline: deadline)
                else { throw failure }
                logger.debug("registry request failed, retrying", metadata: ["host": "\(endpoint.host)", "error": "\(clientError)"])
                try? await Task.sleep(for: delay)
            }
            attempt += 1
        }
    }

    static func isRetryable(status: Int) -> Bool { status == 429 || status == 500 || status == 502 || status == 503 || status == 504 }

    static func isRetryable(_ error: HTTPClientError) -> Bool {
        switch error {
        case .connectFailed, .connectionClosed: true
        case .invalidURL, .dnsFailure, .tlsFailure, .timeout, .malformedResponse, .proxyFailure: false
        }
    }

    /// Exponential backoff with full jitter, or the server's `Retry-After`; nil when out of
    /// attempts or when waiting would overrun the deadline (the caller reports the failure now
    /// rather than time out later with a vaguer message).
    private func retryDelay(attempt: Int, response: HTTPClientResponse?, deadline: ContinuousClock.Instant) -> Duration? {
        guard attempt < configuration.maxRetries else { return nil }
        let delay: Duration
        if let response, let retryAfter = RetryAfter.parse(response.headers["Retry-After"]) {
            delay = retryAfter
        } else {
            let cap = configuration.retryBaseDelay * (1 << min(attempt, 10))
            delay = cap * Double.random(in: 0.5...1.0)
        }
        // Leave room for the retried request itself (a round trip at least).
        guard ContinuousClock.now + delay + .milliseconds(50) < deadline else { return nil }
        return delay
    }

    private func withPermits<T: Sendable>(
        _ endpoint: RegistryEndpoint, deadline: ContinuousClock.Instant, _ body: () async throws -> T
    ) async throws -> T {
        let host = endpoint.host
        let local = perHost.withLock { map in
            if let s = map[host] { return s }
            // Settings are keyed by the name images use (docker.io), the bound by the host dialled.
            let settings = configuration.registries[host] ?? configuration.registries[endpoint.registry]
            let s = AsyncSemaphore(permits: settings?.maxConcurrentRequests ?? configuration.perRegistryConcurrency)
            map[host] = s
            return s
        }
        // Per-registry first: requests queued behind one saturated registry must not sit on global
        // permits that requests to other registries could use.
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
            do {
                response = try await client.execute(request, deadline: deadline)
            } catch let error as HTTPClientError {
                metrics.request(registry: endpoint.registry, method: request.method, code: "error")
                throw TransportFailure.client(error)
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

    private func recordRateLimit(_ response: HTTPClientResponse, endpoint: RegistryEndpoint) {
        guard let header = response.headers["ratelimit-remaining"],
            let remaining = Int(header.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? "")
        else { return }
        rateLimit.withLock { $0[endpoint.host] = remaining }
        metrics.rateLimitRemaining(registry: endpoint.registry, remaining)
    }
}
