import Foundation
import Metrics

/// The sweep's metrics (swift-metrics types; the executable picks the backend).
///   kate_sweep_pods{verdict}            pods by their worst container verdict, last sweep
///   kate_sweep_stale_pods               pods with at least one stale container, last sweep
///   kate_sweep_actions_total{action,outcome}
///   kate_sweep_resolve_errors_total     tags the registry could not resolve
///   kate_sweep_duration_seconds         wall time of a sweep
///   kate_dangling_digests{namespace,owner}  digests an owner's pods pin (or run) that the registry answers 404 for
///   kate_sweep_last_success_timestamp_seconds  Unix time the last sweep ran to its end (alerts: "not run in 2 schedules")
///   kate_sweep_notifications_total{outcome}  --notify-url POSTs: sent, failed (refused or out of attempts), skipped (budget used up)
public struct SweepMetrics: Sendable {
    private let podsByVerdict: [Verdict: Gauge]
    private let stalePods: Gauge
    private let resolveErrors: Counter
    private let duration: Metrics.Timer
    private let lastSuccess: Gauge
    private let factory: any MetricsFactory

    /// - Parameter factory: the backend; tests pass a `TestMetrics`, the executable keeps the bootstrapped one.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        var gauges: [Verdict: Gauge] = [:]
        for verdict in Verdict.allCases {
            gauges[verdict] = Gauge(label: "kate_sweep_pods", dimensions: [("verdict", verdict.rawValue)], factory: factory)
        }
        podsByVerdict = gauges
        stalePods = Gauge(label: "kate_sweep_stale_pods", factory: factory)
        resolveErrors = Counter(label: "kate_sweep_resolve_errors_total", factory: factory)
        duration = Metrics.Timer(label: "kate_sweep_duration_seconds", dimensions: [], factory: factory)
        lastSuccess = Gauge(label: "kate_sweep_last_success_timestamp_seconds", factory: factory)
    }

    func recordPods(_ counts: [Verdict: Int], stale: Int) {
        for verdict in Verdict.allCases {
            podsByVerdict[verdict]?.record(counts[verdict] ?? 0)
        }
        stalePods.record(stale)
    }

    func recordResolveErrors(_ count: Int) {
        if count > 0 { resolveErrors.increment(by: count) }
    }

    func recordAction(_ operation: PlannedAction.Operation, outcome: ActionOutcome) {
        let action: String
        switch operation {
        case .rolloutRestart: action = "restart"
        case .evict: action = "evict"
        case .delete: action = "delete"
        }
        let result: String
        switch outcome {
        case .done: result = "ok"
        case .blocked: result = "blocked"
        case .alreadyGone: result = "gone"
        case .failed: result = "failed"
        case .wouldDo, .deferred, .waiting: return
        }
        Counter(label: "kate_sweep_actions_total", dimensions: [("action", action), ("outcome", result)], factory: factory).increment()
    }

    func recordNotifications(_ outcome: NotifyOutcome) {
        for (label, count) in [("sent", outcome.sent), ("failed", outcome.failed), ("skipped", outcome.skipped)] where count > 0 {
            Counter(label: "kate_sweep_notifications_total", dimensions: [("outcome", label)], factory: factory).increment(by: count)
        }
    }

    func recordDangling(_ counts: [(namespace: String, owner: String, digests: Int)]) {
        for count in counts {
            Gauge(label: "kate_dangling_digests", dimensions: [("namespace", count.namespace), ("owner", count.owner)], factory: factory).record(count.digests)
        }
    }

    func recordDuration(_ elapsed: Duration) {
        duration.recordNanoseconds(Int64(elapsed.components.seconds) * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// A sweep that stopped on an error records nothing here (and writes no metrics file), so the
    /// age of this gauge is how long the sweeper has been failing or not running.
    func recordSuccess(at date: Date) {
        lastSuccess.record(date.timeIntervalSince1970)
    }
}
