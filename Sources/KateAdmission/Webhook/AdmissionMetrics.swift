import KateRegistry
import Metrics

/// kate_admission_* metrics. Handles are created once (the factory lookups are not free) and
/// the factory is injectable so tests can read the values without a global bootstrap.
public struct AdmissionMetrics: Sendable {
    private let reviews: [AdmissionOutcome: Counter]
    private let imagesPinned: Counter
    private let duration: Metrics.Timer
    private let failures: [ResolutionFailure.Kind: Counter]
    private let invalidReviews: Counter
    private let validationsAllowed: Counter
    private let validationsDenied: Counter
    private let guardSkips: [PinningGuards.SkipReason: Counter]
    /// By `signature`: same-pod, owner-rate.
    private let loopBreakerTrips: [String: Counter]

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        var reviews: [AdmissionOutcome: Counter] = [:]
        for outcome in AdmissionOutcome.allCases {
            reviews[outcome] = Counter(label: "kate_admission_reviews_total", dimensions: [("result", outcome.rawValue)], factory: factory)
        }
        self.reviews = reviews
        imagesPinned = Counter(label: "kate_admission_images_pinned_total", factory: factory)
        duration = Metrics.Timer(label: "kate_admission_duration_seconds", factory: factory)
        var failures: [ResolutionFailure.Kind: Counter] = [:]
        for kind in FailureClass.allCases {
            failures[kind] = Counter(label: "kate_admission_resolve_failures_total", dimensions: [("class", kind.rawValue)], factory: factory)
        }
        self.failures = failures
        invalidReviews = Counter(label: "kate_admission_invalid_reviews_total", factory: factory)
        validationsAllowed = Counter(label: "kate_admission_validations_total", dimensions: [("result", "allowed")], factory: factory)
        validationsDenied = Counter(label: "kate_admission_validations_total", dimensions: [("result", "denied")], factory: factory)
        var guardSkips: [PinningGuards.SkipReason: Counter] = [:]
        for reason in PinningGuards.SkipReason.allCases {
            guardSkips[reason] = Counter(label: "kate_admission_skipped_total", dimensions: [("reason", reason.rawValue)], factory: factory)
        }
        self.guardSkips = guardSkips
        loopBreakerTrips = Dictionary(uniqueKeysWithValues: MutationLoopBreaker.Signature.labels.map {
            ($0, Counter(label: "kate_mutation_loop_breaker_total", dimensions: [("signature", $0)], factory: factory))
        })
    }

    /// A pod a guard left unpinned (also counted as `kate_admission_reviews_total{result="skipped"}`).
    func recordGuardSkip(_ reason: PinningGuards.SkipReason, tripped: MutationLoopBreaker.Signature?) {
        guardSkips[reason]?.increment()
        if let tripped { loopBreakerTrips[tripped.label]?.increment() }
    }

    func record(_ report: PinReport, elapsed: Duration) {
        reviews[report.outcome]?.increment()
        if report.pinnedImages > 0 { imagesPinned.increment(by: Int64(report.pinnedImages)) }
        for failure in report.failures { failures[failure.kind]?.increment() }
        duration.recordNanoseconds(elapsed.nanoseconds)
    }

    func recordInvalid() { invalidReviews.increment() }

    /// `/validate` answers: kept apart from the mutating results so dashboards do not double count.
    func recordValidation(allowed: Bool) {
        (allowed ? validationsAllowed : validationsDenied).increment()
    }
}

extension Duration {
    var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
