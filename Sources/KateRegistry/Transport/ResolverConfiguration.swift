import KateNet
import Metrics

/// Everything a `Resolver` needs to know besides the images: transport, cache and bounds.
public struct ResolverConfiguration: Sendable {
    /// Per-registry settings (`--registry-config`).
    public var registries: [String: RegistrySettings]
    /// How long a resolved digest is served from memory (`--cache-ttl`).
    public var cacheTTL: Duration
    /// How long "tag/repository not found" and "unauthorized" answers are remembered
    /// (`--negative-cache-ttl`); shorter, so a freshly pushed tag or a fixed secret shows up soon.
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
    public var userAgent: String
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
        userAgent: String = "kate/0.1",
        metricsFactory: (any MetricsFactory)? = nil
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
