import Metrics

/// The registry client's metrics. Handles are created per label set on demand; both the
/// Prometheus factory and swift-metrics' TestMetrics return the same series for the same labels.
struct RegistryMetrics: Sendable {
    let factory: any MetricsFactory

    init(factory: (any MetricsFactory)?) {
        self.factory = factory ?? MetricsSystem.factory
    }

    enum CacheResult: String { case hit, miss, stale }

    /// `kate_registry_requests_total{registry,method,code}`; code is the HTTP status or `error`.
    func request(registry: String, method: String, code: String) {
        Counter(label: "kate_registry_requests_total", dimensions: [("registry", registry), ("method", method), ("code", code)], factory: factory)
            .increment()
    }

    /// `kate_registry_cache_total{result}`.
    func cache(_ result: CacheResult) {
        Counter(label: "kate_registry_cache_total", dimensions: [("result", result.rawValue)], factory: factory).increment()
    }

    /// `kate_registry_ratelimit_remaining{registry}` from Docker Hub's `ratelimit-remaining`.
    func rateLimitRemaining(registry: String, _ value: Int) {
        Gauge(label: "kate_registry_ratelimit_remaining", dimensions: [("registry", registry)], factory: factory).record(value)
    }

    /// `kate_registry_circuit_state{registry}`: 0 closed, 1 half-open, 2 open, per host dialled.
    func circuitState(registry: String, _ state: CircuitBreaker.State) {
        Gauge(label: "kate_registry_circuit_state", dimensions: [("registry", registry)], factory: factory).record(state.rawValue)
    }

    /// `kate_registry_resolve_duration_seconds` (a Timer: the Prometheus backend exports seconds).
    func resolveDuration(_ duration: Duration) {
        Timer(label: "kate_registry_resolve_duration_seconds", factory: factory).recordNanoseconds(duration.nanoseconds)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var timeInterval: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
