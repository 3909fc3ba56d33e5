import Metrics

/// The registry client's metrics. The fixed series of every resolution (cache results, the
/// resolve duration) are created once here, not per call: creating a handle costs a factory
/// lookup under its lock (Prometheus: a dictionary keyed by the label set), which a cached
/// resolve would otherwise pay twice. Series labelled by registry, method or status are created
/// on demand (off the cached path); both the Prometheus factory and swift-metrics' TestMetrics
/// return the same series for the same labels.
struct RegistryMetrics: Sendable {
    let factory: any MetricsFactory
    private let hits: Counter
    private let misses: Counter
    private let staleHits: Counter
    private let resolveTimer: Timer
    private let failures: [FailureClass: Counter]

    init(factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        self.factory = factory
        func cacheCounter(_ result: CacheResult) -> Counter {
            Counter(label: "kate_registry_cache_total", dimensions: [("result", result.rawValue)], factory: factory)
        }
        self.hits = cacheCounter(.hit)
        self.misses = cacheCounter(.miss)
        self.staleHits = cacheCounter(.stale)
        self.resolveTimer = Timer(label: "kate_registry_resolve_duration_seconds", factory: factory)
        var failures: [FailureClass: Counter] = [:]
        for failureClass in FailureClass.allCases {
            failures[failureClass] = Counter(label: "kate_registry_resolve_failures_total", dimensions: [("class", failureClass.rawValue)], factory: factory)
        }
        self.failures = failures
    }

    enum CacheResult: String { case hit, miss, stale }

    /// `kate_registry_requests_total{registry,method,code,class}`; code is the HTTP status or `error`,
    /// class the failure class of the answer (`ok` for 2xx/3xx).
    func request(registry: String, method: String, code: String) {
        let failureClass = FailureClass.of(code: code)?.rawValue ?? "ok"
        Counter(
            label: "kate_registry_requests_total", dimensions: [("registry", registry), ("method", method), ("code", code), ("class", failureClass)],
            factory: factory
        ).increment()
    }

    /// `kate_registry_resolve_failures_total{class}`: lookups that ended in a failure, by class.
    func resolveFailure(_ failureClass: FailureClass) {
        failures[failureClass]?.increment()
    }

    /// `kate_registry_cache_total{result}`.
    func cache(_ result: CacheResult) {
        switch result {
        case .hit: hits.increment()
        case .miss: misses.increment()
        case .stale: staleHits.increment()
        }
    }

    /// `kate_registry_ratelimit_remaining{registry}` from Docker Hub's `ratelimit-remaining`.
    func rateLimitRemaining(registry: String, _ value: Int) {
        Gauge(label: "kate_registry_ratelimit_remaining", dimensions: [("registry", registry)], factory: factory).record(value)
    }

    /// `kate_registry_ratelimit_limit{registry}` from Docker Hub's `ratelimit-limit` (pulls per window),
    /// so an alert can compare the remaining pulls with the quota instead of a fixed number.
    func rateLimitLimit(registry: String, _ value: Int) {
        Gauge(label: "kate_registry_ratelimit_limit", dimensions: [("registry", registry)], factory: factory).record(value)
    }

    /// `kate_registry_circuit_state{registry}`: 0 closed, 1 half-open, 2 open, per host dialled.
    func circuitState(registry: String, _ state: CircuitBreaker.State) {
        Gauge(label: "kate_registry_circuit_state", dimensions: [("registry", registry)], factory: factory).record(state.rawValue)
    }

    /// `kate_registry_resolve_duration_seconds` (a Timer: the Prometheus backend exports seconds).
    func resolveDuration(_ duration: Duration) {
        resolveTimer.recordNanoseconds(duration.nanoseconds)
    }
}

