import Foundation
import Logging
import Synchronization

/// The circuit breakers of every registry host kate has failed to reach, with the one log line
/// and metric update per state change. Hosts that never failed have no entry (and cost one
/// dictionary probe per request).
final class HostCircuits: Sendable {
    private let policy: CircuitBreakerPolicy
    private let breakers = Mutex<[String: CircuitBreaker]>([:])
    private let metrics: RegistryMetrics
    private let logger: Logger
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Date
    /// Called with the registry name when a host's circuit closes again.
    private let onRecovered: @Sendable (_ registry: String) -> Void

    init(
        policy: CircuitBreakerPolicy, metrics: RegistryMetrics, logger: Logger,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        wallClock: @escaping @Sendable () -> Date = { Date() },
        onRecovered: @escaping @Sendable (String) -> Void
    ) {
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
        self.wallClock = wallClock
        self.onRecovered = onRecovered
    }

    var isEnabled: Bool { policy.failureThreshold > 0 }

    /// `ticket`: the probe ticket the request's lookup claimed for this host, if any (`ProbeTickets.current`).
    func admit(host: String, ticket: UInt64? = nil) -> CircuitBreaker.Admission {
        guard isEnabled else { return .proceed }
        let now = clock()
        let (admission, transition) = breakers.withLock { map -> (CircuitBreaker.Admission, CircuitBreaker.Transition?) in
            guard var breaker = map[host] else { return (.proceed, nil) }
            defer { map[host] = breaker }
            return breaker.admit(now: now, ticket: ticket)
        }
        if let transition { report(transition, host: host, registry: nil) }
        return admission
    }

    /// Whether a new lookup on `host` may go ahead, and whether it is the half-open probe (`CircuitBreaker.claim`).
    func claim(host: String) -> CircuitBreaker.Claim {
        guard isEnabled else { return .proceed }
        let now = clock()
        let (claim, transition) = breakers.withLock { map -> (CircuitBreaker.Claim, CircuitBreaker.Transition?) in
            guard var breaker = map[host] else { return (.proceed, nil) }
            defer { map[host] = breaker }
            return breaker.claim(now: now)
        }
        if let transition { report(transition, host: host, registry: nil) }
        return claim
    }

    /// The lookup that claimed `ticket` on `host` is done.
    func release(host: String, ticket: UInt64) {
        let now = clock()
        breakers.withLock { map in map[host]?.release(ticket: ticket, now: now) }
    }

    func recordAnswer(host: String, registry: String) {
        guard isEnabled else { return }
        let now = clock()
        let (transition, since) = breakers.withLock { map -> (CircuitBreaker.Transition?, Date?) in
            guard var breaker = map[host] else { return (nil, nil) }
            let since = breaker.unreachableSince
            let transition = breaker.recordAnswer(now: now)
            // Healthy again: forget the host, so the common path stays one failed dictionary probe.
            map[host] = nil
            return (transition, since)
        }
        guard let transition else { return }
        report(transition, host: host, registry: registry, since: since)
        onRecovered(registry)
    }

    func recordFailure(host: String, registry: String, _ description: String, opensAtOnce: Bool) {
        guard isEnabled else { return }
        let now = clock()
        let wall = wallClock()
        let (transition, breaker) = breakers.withLock { map -> (CircuitBreaker.Transition?, CircuitBreaker) in
            var breaker = map[host] ?? CircuitBreaker(policy: policy)
            let transition = breaker.recordFailure(description, opensAtOnce: opensAtOnce, now: now, wallClock: wall)
            map[host] = breaker
            return (transition, breaker)
        }
        if let transition { report(transition, host: host, registry: registry, since: breaker.unreachableSince, failures: breaker.consecutiveFailures, error: description) }
    }

    func abandonProbe(host: String) {
        let now = clock()
        breakers.withLock { map in map[host]?.abandonProbe(now: now) }
    }

    /// Since when `host` has been unreachable, while its circuit is open or half-open (nil while closed).
    func unreachableSince(host: String) -> Date? {
        breakers.withLock { map in
            guard let breaker = map[host], breaker.state != .closed else { return nil }
            return breaker.unreachableSince
        }
    }

    /// The state of `host`'s circuit (closed when it has none), for tests and diagnostics.
    func state(host: String) -> CircuitBreaker.State {
        breakers.withLock { $0[host]?.state ?? .closed }
    }

    private func report(
        _ transition: CircuitBreaker.Transition, host: String, registry: String?, since: Date? = nil, failures: Int = 0, error: String = ""
    ) {
        var metadata: Logger.Metadata = ["registry": "\(host)"]
        if let since { metadata["unreachable_since"] = "\(since.formatted(.iso8601))" }
        switch transition {
        case .opened:
            metrics.circuitState(registry: host, .open)
            metadata["failures"] = "\(failures)"
            metadata["error"] = "\(error)"
            metadata["retry_in"] = "\(LookupProgress.seconds(policy.initialBackoff))"
            logger.warning("registry unreachable: failing lookups at once until a probe gets an answer", metadata: metadata)
        case .halfOpened:
            metrics.circuitState(registry: host, .halfOpen)
            logger.info("registry circuit half-open: sending one probe request", metadata: metadata)
        case .reopened:
            metrics.circuitState(registry: host, .open)
            metadata["error"] = "\(error)"
            logger.warning("registry still unreachable: the probe failed, backing off", metadata: metadata)
        case .closed:
            metrics.circuitState(registry: host, .closed)
            logger.info("registry reachable again: circuit closed", metadata: metadata)
        }
    }
}
