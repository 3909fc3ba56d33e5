import Foundation

/// When to stop asking a registry host that does not answer, and when to try again.
public struct CircuitBreakerPolicy: Sendable, Equatable {
    /// Transport failures in a row (refused, reset, TLS, DNS) that open the circuit; 0 turns the
    /// breaker off. A timeout opens it at once: it has already cost a caller its whole budget.
    public var failureThreshold: Int
    /// How long the circuit stays open before the first probe; doubled after each failed probe.
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    /// A probe that has not reported back after this long is presumed lost (its caller vanished):
    /// the next caller may probe instead, so the circuit cannot stick half-open.
    public var probeLease: Duration
    /// How long the caller whose lookup became the probe waits for it. The probe itself runs on to the request
    /// timeout (an answer closes the circuit and fills the cache for the next caller); its caller, a pod creation
    /// behind a fail-open webhook, is answered after at most this long, not after a hung registry's full timeout.
    /// Long enough for a recovered registry's answer (token round trip included), so the first review after it
    /// returns is pinned.
    public var probePatience: Duration

    public init(
        failureThreshold: Int = 3, initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(30), probeLease: Duration = .seconds(30),
        probePatience: Duration = .seconds(1)
    ) {
        self.failureThreshold = failureThreshold
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.probeLease = probeLease
        self.probePatience = probePatience
    }

    public static let disabled = CircuitBreakerPolicy(failureThreshold: 0)
}

/// One registry host's circuit: closed (requests flow) → open after `failureThreshold` transport
/// failures in a row (requests fail at once) → half-open after the backoff (one probe request;
/// everyone else still fails at once) → closed when the probe gets any HTTP answer, or open again
/// with twice the backoff (at most `maxBackoff`) when it fails.
///
/// A pure state machine: the caller passes the time, so tests drive it with a fake clock. Only
/// transport failures count. A 401, 404, 429 or 5xx is an answer: the host is reachable.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: Int, Sendable, Equatable {
        case closed = 0, halfOpen = 1, open = 2
    }

    /// What a request may do now.
    public enum Admission: Sendable, Equatable {
        case proceed
        /// Proceed as the one half-open probe; report the outcome (or `abandonProbe`).
        case probe
        /// Fail now; the circuit is open (or another probe is out) until `retryAt`.
        case reject(Outage)
    }

    /// Why a host is considered down, for the error a rejected caller gets.
    public struct Outage: Sendable, Equatable {
        /// Wall-clock time of the first failure in the current run of failures.
        public let since: Date
        public let failures: Int
        public let lastFailure: String
        /// When the next probe may go out (ContinuousClock).
        public let retryAt: ContinuousClock.Instant
    }

    /// What a lookup may do now, decided once before it starts (or joins) its requests: see `claim(now:)`.
    public enum Claim: Sendable, Equatable {
        case proceed
        /// This lookup is the one half-open probe; its first request to the host carries the ticket.
        case probe(ticket: UInt64)
        case reject(Outage)
    }

    public enum Transition: Sendable, Equatable {
        case opened, halfOpened, closed, reopened
    }

    public let policy: CircuitBreakerPolicy
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    private var backoff: Duration
    private var retryAt: ContinuousClock.Instant?
    private var probeStarted: ContinuousClock.Instant?
    /// The current half-open probe's ticket, and whether its request has gone out.
    private var probeTicket: UInt64 = 0
    private var probeSent = false
    private var firstFailure: (instant: ContinuousClock.Instant, date: Date)?
    private var lastFailure = ""

    public init(policy: CircuitBreakerPolicy) {
        self.policy = policy
        self.backoff = policy.initialBackoff
    }

    public static func == (a: CircuitBreaker, b: CircuitBreaker) -> Bool {
        a.state == b.state && a.consecutiveFailures == b.consecutiveFailures && a.retryAt == b.retryAt && a.backoff == b.backoff
    }

    /// When the first failure of the current run happened (nil while healthy).
    public var unreachableSince: Date? { firstFailure?.date }

    /// Decides whether a request may go out at `now`; may move open → half-open. `ticket` is the probe ticket the
    /// request's lookup claimed (`claim(now:)`), if any: the first request carrying the current ticket is the probe.
    public mutating func admit(now: ContinuousClock.Instant, ticket: UInt64? = nil) -> (Admission, Transition?) {
        switch state {
        case .closed:
            return (.proceed, nil)
        case .open:
            guard let retryAt, now >= retryAt else { return (.reject(outage(now: now)), nil) }
            startProbe(now: now)
            probeSent = true
            return (.probe, .halfOpened)
        case .halfOpen:
            if let ticket, ticket == probeTicket, !probeSent {
                probeSent = true
                return (.probe, nil)
            }
            if let probeStarted, now - probeStarted >= policy.probeLease {
                startProbe(now: now)
                probeSent = true
                return (.probe, nil)
            }
            return (.reject(outage(now: now)), nil)
        }
    }

    /// Decides, before a lookup starts or joins a request, whether it may go ahead — and, when the backoff has run
    /// out, makes it the one probe in the same step. Checking and probing in two steps let every caller arriving
    /// between them through: they all joined the probe's lookup and waited out a hung registry's timeout together.
    public mutating func claim(now: ContinuousClock.Instant) -> (Claim, Transition?) {
        switch state {
        case .closed:
            return (.proceed, nil)
        case .open:
            guard let retryAt, now >= retryAt else { return (.reject(outage(now: now)), nil) }
            startProbe(now: now)
            return (.probe(ticket: probeTicket), .halfOpened)
        case .halfOpen:
            if let probeStarted, now - probeStarted >= policy.probeLease {
                startProbe(now: now)
                return (.probe(ticket: probeTicket), nil)
            }
            return (.reject(outage(now: now)), nil)
        }
    }

    /// A lookup that claimed `ticket` is done. If its probe request never went out (it found its answer elsewhere,
    /// or joined a lookup already running), the next caller may probe at once rather than after the probe lease.
    public mutating func release(ticket: UInt64, now: ContinuousClock.Instant) {
        guard state == .halfOpen, ticket == probeTicket, !probeSent else { return }
        abandonProbe(now: now)
    }

    private mutating func startProbe(now: ContinuousClock.Instant) {
        state = .halfOpen
        probeStarted = now
        probeTicket &+= 1
        probeSent = false
    }

    /// The host answered (any HTTP status).
    public mutating func recordAnswer(now: ContinuousClock.Instant) -> Transition? {
        consecutiveFailures = 0
        firstFailure = nil
        guard state != .closed else { return nil }
        state = .closed
        backoff = policy.initialBackoff
        retryAt = nil
        probeStarted = nil
        return .closed
    }

    /// A transport failure: refused, reset, TLS, DNS, or a timeout (`opensAtOnce`).
    public mutating func recordFailure(_ description: String, opensAtOnce: Bool, now: ContinuousClock.Instant, wallClock: Date) -> Transition? {
        guard policy.failureThreshold > 0 else { return nil }
        consecutiveFailures += 1
        lastFailure = description
        if firstFailure == nil { firstFailure = (now, wallClock) }
        switch state {
        case .closed:
            guard opensAtOnce || consecutiveFailures >= policy.failureThreshold else { return nil }
            state = .open
            retryAt = now + backoff
            return .opened
        case .halfOpen:
            backoff = min(backoff * 2, policy.maxBackoff)
            state = .open
            retryAt = now + backoff
            probeStarted = nil
            return .reopened
        case .open:
            // A request admitted before the circuit opened failed late: the circuit stays open
            // and keeps its schedule.
            return nil
        }
    }

    /// The probe ended without telling anything about the host (its caller was cancelled, or
    /// gave up waiting for a local permit): the next caller may probe at once.
    public mutating func abandonProbe(now: ContinuousClock.Instant) {
        guard state == .halfOpen else { return }
        state = .open
        retryAt = now
        probeStarted = nil
    }

    private func outage(now: ContinuousClock.Instant) -> Outage {
        Outage(
            since: firstFailure?.date ?? Date(), failures: consecutiveFailures, lastFailure: lastFailure,
            retryAt: state == .halfOpen ? (probeStarted ?? now) + policy.probeLease : (retryAt ?? now))
    }
}
