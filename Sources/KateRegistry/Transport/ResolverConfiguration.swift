import KateNet
import Metrics

/// Everything a `Resolver` needs to know besides the images: transport, cache and bounds.
public struct ResolverConfiguration: Sendable {
    /// Per-registry settings (`--registry-config`).
    public var registries: [String: RegistrySettings]
    /// How long a resolved digest is served from memory (`--cache-ttl`).
    public var cacheTTL: Duration
    /// How long "tag/repository not found" and "unauthorized" (401/403) answers are remembered per
    /// tag and credentials (`--negative-cache-ttl`); shorter, so a freshly pushed tag or a fixed
    /// secret shows up soon. Transport failures use `transportFailureCacheTTL`.
    public var negativeCacheTTL: Duration
    /// Requests in flight to one registry (`--registry-concurrency`).
    public var perRegistryConcurrency: Int
    /// Requests in flight to all registries together.
    public var globalConcurrency: Int
    /// Upper bound for one resolution, whatever the caller's deadline (`--registry-timeout`).
    public var requestTimeout: Duration
    public var connectTimeout: Duration
    /// Retries after the first attempt, for 5xx/429/connection failures.
    public var maxRetries: Int
    public var retryBaseDelay: Duration
    public var maxRedirects: Int
    /// How many tags' last-known digests are kept for stale-if-error.
    public var lastKnownLimit: Int
    /// How many entries the TTL cache holds before evicting the oldest.
    public var cacheLimit: Int
    /// Below this `ratelimit-remaining`, requests to that registry are paced (Docker Hub).
    public var rateLimitLowWatermark: Int
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`; nil = direct.
    public var proxy: ProxyConfiguration?
    /// `User-Agent` of every registry and token request.
    public var userAgent: String
    /// Per-host circuit breaker: fail fast while a registry is unreachable.
    public var circuitBreaker: CircuitBreakerPolicy
    /// How long a transport failure (refused, reset, TLS, DNS, timeout) of one tag's lookup is
    /// remembered and answered from memory (0 = not at all). Short — no longer than the circuit's
    /// first backoff — so it never keeps a registry that is back looking down.
    public var transportFailureCacheTTL: Duration
    /// `--insecure-registry`: hosts (`HOST` or `HOST:PORT`) that, besides loopback ones, may be
    /// asked over plain HTTP when their HTTPS port turns out to speak it.
    public var insecureRegistries: Set<String>
    /// Where metrics go; nil = the process-wide `MetricsSystem` (tests pass a `TestMetrics`).
    public var metricsFactory: (any MetricsFactory)?

    public init(
        registries: [String: RegistrySettings] = [:],
        cacheTTL: Duration = .seconds(300),
        negativeCacheTTL: Duration = .seconds(30),
        perRegistryConcurrency: Int = 32,
        globalConcurrency: Int = 128,
        requestTimeout: Duration = .seconds(8),
        connectTimeout: Duration = .seconds(3),
        maxRetries: Int = 3,
        retryBaseDelay: Duration = .milliseconds(100),
        maxRedirects: Int = 5,
        lastKnownLimit: Int = 10_000,
        cacheLimit: Int = 50_000,
        rateLimitLowWatermark: Int = 10,
        proxy: ProxyConfiguration? = nil,
        userAgent: String = KateVersion.userAgent,
        metricsFactory: (any MetricsFactory)? = nil,
        circuitBreaker: CircuitBreakerPolicy = .init(),
        transportFailureCacheTTL: Duration = .seconds(1),
        insecureRegistries: Set<String> = []
    ) {
        self.registries = registries
        self.cacheTTL = cacheTTL
        self.negativeCacheTTL = negativeCacheTTL
        self.perRegistryConcurrency = perRegistryConcurrency
        self.globalConcurrency = globalConcurrency
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.maxRetries = maxRetries
        self.retryBaseDelay = retryBaseDelay
        self.maxRedirects = maxRedirects
        self.lastKnownLimit = lastKnownLimit
        self.cacheLimit = cacheLimit
        self.rateLimitLowWatermark = rateLimitLowWatermark
        self.proxy = proxy
        self.userAgent = userAgent
        self.metricsFactory = metricsFactory
        self.circuitBreaker = circuitBreaker
        self.transportFailureCacheTTL = transportFailureCacheTTL
        self.insecureRegistries = Set(insecureRegistries.map { $0.lowercased() })
    }

    /// Applies a loaded `--registry-config` file.
    public mutating func apply(_ file: RegistryConfigFile) {
        registries.merge(file.registries) { _, new in new }
        if let global = file.globalConcurrency { globalConcurrency = global }
    }

    func settings(for registry: String) -> RegistrySettings {
        registries[registry] ?? RegistrySettings()
    }
}
