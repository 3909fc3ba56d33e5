import Metrics
import Prometheus
import Synchronization

/// The process's Prometheus registry. Modules only use swift-metrics types (Counter, Timer,
/// Gauge, Recorder); this file is the one place that knows the backend.
enum KateMetrics {
    static let registry = PrometheusCollectorRegistry()
    private static let bootstrapped = Mutex(false)

    /// Routes swift-metrics to Prometheus, once per process.
    static func bootstrap() {
        let first = bootstrapped.withLock { done in
            defer { done = true }
            return !done
        }
        guard first else { return }
        var factory = PrometheusMetricsFactory(registry: registry)
        // Latency buckets for admission and registry calls: 1 ms … 30 s (the apiserver's cap).
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
    }

    /// The text exposition format (`text/plain; version=0.0.4`).
    static func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
