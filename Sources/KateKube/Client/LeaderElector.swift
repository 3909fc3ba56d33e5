import Foundation
import KateNet
import Logging
import Metrics
import Synchronization

/// Leader election over a `coordination.k8s.io/v1` Lease, with client-go's algorithm and timings
/// (k8s.io/client-go/tools/leaderelection): candidates try every `retryPeriod` (jittered); a Lease
/// held by someone else is taken only once it has not changed for `leaseDuration` as *this*
/// candidate observed it (its own clock, so clock skew between nodes does not matter); the leader
/// renews every `retryPeriod` and gives up leading when no renewal succeeded for `renewDeadline`.
/// `renewDeadline < leaseDuration` is what keeps two leaders from overlapping: the old one stops
/// before anyone may take over. Writes are PUTs with the read resourceVersion, so of two
/// candidates racing for the same Lease exactly one wins (the other gets 409).
///
/// ```swift
/// let elector = LeaderElector(client: kube, namespace: "kate", name: "kate-sweeper", identity: podName)
/// try await elector.run { try await sweepForever() }   // returns or throws when leadership ends
/// ```
public struct LeaderElector: Sendable {
    public struct Timing: Sendable, Equatable {
        public var leaseDuration: Duration
        public var renewDeadline: Duration
        public var retryPeriod: Duration

        /// client-go's defaults (and kube-controller-manager's): 15 s, 10 s, 2 s.
        public static let clientGo = Timing(leaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .seconds(2))

        public init(leaseDuration: Duration, renewDeadline: Duration, retryPeriod: Duration) {
            self.leaseDuration = leaseDuration
            self.renewDeadline = renewDeadline
            self.retryPeriod = retryPeriod
        }

        /// client-go refuses these too: without them two leaders can overlap.
        var problem: String? {
            if leaseDuration <= renewDeadline { return "leaseDuration (\(leaseDuration)) must be greater than renewDeadline (\(renewDeadline))" }
            if renewDeadline <= retryPeriod * 1.2 { return "renewDeadline (\(renewDeadline)) must be greater than 1.2 × retryPeriod (\(retryPeriod))" }
            if retryPeriod <= .zero { return "retryPeriod must be positive" }
            return nil
        }
    }

    /// Why `run` ended without `lead` returning.
    public enum ElectionError: Error, Equatable, CustomStringConvertible {
        /// No renewal succeeded within `renewDeadline`; `lead` was cancelled.
        case leadershipLost(lease: String, identity: String)
        case invalidTiming(String)

        public var description: String {
            switch self {
            case .leadershipLost(let lease, let identity): "\(identity) lost the Lease \(lease): no renewal succeeded within the renew deadline"
            case .invalidTiming(let problem): "leader election timing: \(problem)"
            }
        }
    }

    public let client: KubeClient
    public let namespace: String
    public let name: String
    public let identity: String
    public let timing: Timing

    public init(client: KubeClient, namespace: String, name: String, identity: String, timing: Timing = .clientGo) {
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.timing = timing
    }

    /// Campaigns until this candidate holds the Lease, then runs `lead` while renewing it.
    /// - Returns: `lead`'s result; the Lease is then released (holder cleared) so another
    ///   candidate takes over at once instead of after `leaseDuration`.
    /// - Throws: `ElectionError.leadershipLost` (after cancelling `lead`), `lead`'s error, or
    ///   `CancellationError` — the Lease is released on both of the latter.
    public func run<T: Sendable>(_ lead: @escaping @Sendable () async throws -> T) async throws -> T {
        if let problem = timing.problem { throw ElectionError.invalidTiming(problem) }
        let observation = Observation()
        try await acquire(observation)
        let leading = Gauge(label: "kate_leader_election_leading", dimensions: [("lease", name)])
        leading.record(1)
        defer { leading.record(0) }
        client.logger.info("became leader", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        let result: Result<T, any Error> = await withTaskGroup(of: Result<T, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await lead()) } catch { return .failure(error) }
            }
            group.addTask {
                do {
                    try await renew(observation)
                    return .failure(ElectionError.leadershipLost(lease: "\(namespace)/\(name)", identity: identity))
                } catch {
                    return nil  // cancelled: `lead` ended first
                }
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .failure(CancellationError())
        }
        if case .failure(let error) = result, error is ElectionError {
            client.logger.warning("lost leadership", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
        } else {
            await release(observation)
        }
        return try result.get()
    }

    // MARK: - The algorithm

    /// What this candidate last saw of the Lease, and when it saw it change (its own clock).
    final class Observation: Sendable {
        struct State {
            var lease: Lease?
            var changedAt = ContinuousClock.now
        }
        let state = Mutex(State())
    }

    private func acquire(_ observation: Observation) async throws {
        while true {
            if try await tryAcquireOrRenew(observation, deadline: .now + timing.renewDeadline) { return }
            // client-go's JitterUntil(retryPeriod, 1.2): spread candidates out.
            try await Task.sleep(for: timing.retryPeriod + timing.retryPeriod * Double.random(in: 0...1.2))
        }
    }

    /// Returns when leadership is lost (no success for `renewDeadline`); throws when cancelled.
    private func renew(_ observation: Observation) async throws {
        var lastRenewal = ContinuousClock.now
        while true {
            try await sleepCancellably(until: .now + timing.retryPeriod)
            let renewed = try await tryAcquireOrRenew(observation, deadline: lastRenewal + timing.renewDeadline)
            if renewed {
                lastRenewal = .now
            } else if ContinuousClock.now >= lastRenewal + timing.renewDeadline {
                return
            }
        }
    }

    /// One round of client-go's tryAcquireOrRenew; false when the Lease is someone else's or a
    /// write lost a race or failed. Bounded by `deadline`. Throws only `CancellationError`.
    private func tryAcquireOrRenew(_ observation: Observation, deadline: ContinuousClock.Instant) async throws -> Bool {
        let outcome = try await withDeadline(deadline) { () async throws -> Bool in
            try await attempt(observation)
        }
        return outcome ?? false
    }

    private func attempt(_ observation: Observation) async throws -> Bool {
        let now = MicroTime.format(Date())
        let current: Lease
        do {
            current = try await client.getLease(namespace: namespace, name: name)
        } catch let error as KubeError where error.isNotFound {
            let fresh = Lease(
                metadata: ObjectMeta(name: name, namespace: namespace),
                spec: LeaseSpec(
                    holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0
                )
            )
            return try await write(observation) { try await client.createLease(fresh, namespace: namespace) }
        } catch let error as KubeError {
            client.logger.debug("reading the Lease failed", metadata: ["lease": "\(namespace)/\(name)", "error": "\(error)"])
            return false
        }
        let held = observation.state.withLock { state in
            if state.lease?.spec != current.spec {
                state.lease = current
                state.changedAt = .now
            }
            return state.changedAt
        }
        let spec = current.spec ?? LeaseSpec()
        let holder = spec.holderIdentity ?? ""
        if !holder.isEmpty, holder != identity, ContinuousClock.now < held + timing.leaseDuration { return false }
        var next = current
        next.spec = LeaseSpec(
            holderIdentity: identity, leaseDurationSeconds: leaseSeconds,
            acquireTime: holder == identity ? spec.acquireTime ?? now : now, renewTime: now,
            leaseTransitions: holder == identity ? spec.leaseTransitions ?? 0 : (spec.leaseTransitions ?? 0) + 1,
            strategy: spec.strategy, preferredHolder: spec.preferredHolder
        )
        return try await write(observation) { try await client.updateLease(next, namespace: namespace) }
    }

    /// A create or update; success records what was written as observed now.
    private func write(_ observation: Observation, _ operation: () async throws -> Lease) async throws -> Bool {
        do {
            let written = try await operation()
            observation.state.withLock { state in
                state.lease = written
                state.changedAt = .now
            }
            return true
        } catch let error as KubeError {
            // 409: another candidate wrote first (or created the Lease first); try again next round.
            client.logger.debug("writing the Lease failed", metadata: ["lease": "\(namespace)/\(name)", "code": "\(error.code)", "error": "\(error)"])
            return false
        }
    }

    /// client-go's release: holder cleared, duration 1 s, so the next candidate need not wait.
    /// Runs even when the caller was cancelled (that is when it matters), bounded by `renewDeadline`.
    private func release(_ observation: Observation) async {
        guard let held = observation.state.withLock({ $0.lease }), held.spec?.holderIdentity == identity else { return }
        let elector = self
        let released = Task {
            let now = MicroTime.format(Date())
            var cleared = held
            cleared.spec = LeaseSpec(
                holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: held.spec?.leaseTransitions,
                strategy: held.spec?.strategy, preferredHolder: held.spec?.preferredHolder
            )
            let lease = cleared
            let written = try await withDeadline(.now + elector.timing.renewDeadline) { () async throws -> Lease in
                try await elector.client.updateLease(lease, namespace: elector.namespace)
            }
            return written != nil
        }
        do {
            if try await released.value {
                client.logger.info("released the Lease", metadata: ["lease": "\(namespace)/\(name)", "identity": "\(identity)"])
            }
        } catch {
            client.logger.warning("releasing the Lease failed; the next leader waits for it to expire", metadata: [
                "lease": "\(namespace)/\(name)", "error": "\(error)",
            ])
        }
    }

    private var leaseSeconds: Int { max(1, Int(timing.leaseDuration.components.seconds)) }
}
