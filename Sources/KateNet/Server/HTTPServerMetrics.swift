import Metrics
import Synchronization

/// The server's swift-metrics instruments. Label values are bounded: `path` is a registered route
/// or "other" (a scanner probing random URLs must not create a time series per URL).
final class HTTPServerMetrics: Sendable {
    private let knownPaths: Set<String>
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Metrics.Timer]>([:])
    private let openConnections = Gauge(label: "kate_http_open_connections")
    private let rejectedConnections = Counter(label: "kate_http_rejected_connections_total")

    init(knownPaths: Set<String>) {
        self.knownPaths = knownPaths
    }

    func pathLabel(_ path: String?) -> String {
        guard let path, knownPaths.contains(path) else { return "other" }
        return path
    }

    func requestCompleted(path: String?, status: Int, duration: Duration) {
        let label = pathLabel(path)
        let key = "\(label) \(status)"
        let counter = counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: "kate_http_requests_total", dimensions: [("path", label), ("code", String(status))])
            cache[key] = counter
            return counter
        }
        counter.increment()
        let timer = timers.withLock { cache in
            if let timer = cache[label] { return timer }
            let timer = Metrics.Timer(label: "kate_http_request_duration_seconds", dimensions: [("path", label)])
            cache[label] = timer
            return timer
        }
        timer.recordNanoseconds(duration.nanoseconds)
    }

    func connectionsChanged(to count: Int) { openConnections.record(count) }
    func connectionRejected() { rejectedConnections.increment() }
}

extension Duration {
    /// Whole nanoseconds, saturating (swift-metrics timers take Int64 nanoseconds). The one conversion
    /// every module's metrics use.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled + attoseconds / 1_000_000_000
    }

    /// Seconds as a Double, for log lines, messages and arithmetic with `Date`.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
