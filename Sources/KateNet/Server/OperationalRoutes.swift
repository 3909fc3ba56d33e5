import Synchronization

/// Whether the process should receive traffic: set once the certificate is loaded and the
/// listener bound, cleared when shutdown begins (so endpoints stop routing to a draining pod).
public final class ReadinessFlag: Sendable {
    private let ready = Atomic(false)
    public init() {}
    public var isReady: Bool { ready.load(ordering: .acquiring) }
    public func set(_ value: Bool) { ready.store(value, ordering: .releasing) }
}

extension Router {
    /// `GET /healthz` (200 "ok" while the process serves at all), `GET /readyz` (200 when `readiness`
    /// is set, else 503) and `GET /metrics` (Prometheus text from `metrics`).
    public mutating func addOperationalRoutes(readiness: ReadinessFlag, metrics: @escaping @Sendable () -> [UInt8]) {
        addProbeRoutes(readiness: readiness)
        add("GET", "/metrics") { _, _ in
            HTTPResponse(status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"], body: metrics())
        }
    }

    /// `GET /healthz` and `GET /readyz` alone: the kubelet's probes. The main listener and the
    /// separate health listener (`HealthListener`) both register them through this one function
    /// with the same `ReadinessFlag`, so "ready" cannot come to mean different things on the two.
    public mutating func addProbeRoutes(readiness: ReadinessFlag) {
        add("GET", "/healthz") { _, _ in .text(200, "ok") }
        add("GET", "/readyz") { _, _ in
            readiness.isReady ? .text(200, "ready") : .text(503, "not ready: certificate or listener not up yet, or shutting down")
        }
    }
}
