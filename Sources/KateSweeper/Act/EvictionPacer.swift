import KateKube
import Logging

/// One paced eviction, as `kubectl drain` does it: count the workload's ready pods, evict (retrying a
/// PodDisruptionBudget's 429 until the bound), then wait until the evicted pod is gone and the ready
/// count is back. No controller runs in kate: the workload's controller creates the replacement,
/// and the ready count is read from the pods themselves, because `status.readyReplicas` lags the
/// eviction and would look recovered the instant after it.
struct EvictionPacer: Sendable {
    let cluster: any SweepCluster
    let policy: ActionPolicy
    let logger: Logger

    enum Eviction: Equatable {
        case evicted(readyBefore: Int)
        case blocked(String)
        case alreadyGone
    }

    /// Why a wait ended without the workload recovering.
    enum Stall: Error, Equatable {
        case timedOut(String)
        case cancelled
    }

    /// Evicts `pod`, retrying 429s every `disruptionRetryInterval` until `evictionWait` has passed.
    func evict(_ pod: PodKey, pacing: EvictionPacing?) async throws -> Eviction {
        let deadline = ContinuousClock.now.advanced(by: policy.evictionWait)
        var readyBefore = 0
        if let pacing { readyBefore = try await readyPods(of: pacing, namespace: pod.namespace).count }
        while true {
            switch try await cluster.evict(namespace: pod.namespace, pod: pod.name) {
            case .evicted: return .evicted(readyBefore: readyBefore)
            case .alreadyGone: return .alreadyGone
            case .blockedByDisruptionBudget(let message):
                let now = ContinuousClock.now
                guard now < deadline, !Task.isCancelled else { return .blocked(message) }
                logger.debug("eviction of \(pod) refused by a PodDisruptionBudget; retrying", metadata: ["reason": "\(message)"])
                try await Task.sleep(for: min(policy.disruptionRetryInterval, deadline - now))
            }
        }
    }

    /// Returns when `evicted` (by UID) is no longer among the workload's pods and at least
    /// `readyBefore` of them are Ready; throws `Stall` when `evictionWait` passes first. A failed
    /// read is retried at the next poll, not fatal: the API server may be briefly unavailable.
    func waitForRecovery(of pacing: EvictionPacing, evicted: PodKey, uid: String, readyBefore: Int) async throws(Stall) {
        let started = ContinuousClock.now
        let deadline = started.advanced(by: policy.evictionWait)
        var last = "no pod list read yet"
        while true {
            do {
                let pods = try await ownedPods(of: pacing, namespace: evicted.namespace)
                let stillThere = pods.contains { $0.metadata.uid == uid && $0.metadata.name == evicted.name }
                let ready = pods.filter(\.isReady).count
                if !stillThere && ready >= readyBefore {
                    logger.info("\(pacing.workload) recovered after evicting \(evicted)", metadata: [
                        "ready": "\(ready)", "waited": "\(ContinuousClock.now - started)",
                    ])
                    return
                }
                last = stillThere ? "\(evicted) still terminating" : "\(ready) of \(readyBefore) pods Ready"
            } catch is CancellationError {
                throw .cancelled
            } catch {
                last = "cannot list its pods: \(error)"
            }
            let now = ContinuousClock.now
            guard now < deadline else { throw .timedOut(last) }
            do {
                try await Task.sleep(for: min(policy.evictionPollInterval, deadline - now))
            } catch {
                throw .cancelled
            }
        }
    }

    private func ownedPods(of pacing: EvictionPacing, namespace: String) async throws -> [Pod] {
        try await cluster.listPods(namespace: namespace, labelSelector: pacing.labelSelector).filter(pacing.owns)
    }

    private func readyPods(of pacing: EvictionPacing, namespace: String) async throws -> [Pod] {
        try await ownedPods(of: pacing, namespace: namespace).filter(\.isReady)
    }

    /// `2m`, `90s`, `0.25s`: how `--eviction-wait` is written, for messages.
    static func text(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds % 60_000 == 0 && milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(Double(milliseconds) / 1000)s"
    }
}
