import Foundation
import Logging

/// What happened to one planned action.
public enum ActionOutcome: Sendable, Equatable {
    case done
    /// `--dry-run` or `--action report`: not attempted.
    case wouldDo
    /// `--max-actions` reached.
    case deferred(limit: Int)
    /// A PodDisruptionBudget refused the eviction; the next sweep tries again.
    case blocked(String)
    /// The pod was already gone (404): nothing left to do.
    case alreadyGone
    case failed(String)
    /// Not attempted: an earlier eviction from the same workload has not recovered (or the sweep was
    /// cancelled); the next sweep goes on.
    case waiting(String)

    public var isWrite: Bool {
        switch self {
        case .done, .blocked, .alreadyGone, .failed: true
        case .wouldDo, .deferred, .waiting: false
        }
    }
}

public struct ActionResult: Sendable, Equatable {
    public var action: PlannedAction
    public var outcome: ActionOutcome

    /// The ACTION column for the action's pods.
    public var text: String {
        switch outcome {
        case .done:
            switch action.operation {
            case .rolloutRestart(let workload): "restarted \(workload.kind.rawValue)/\(workload.name)"
            case .evict: "evicted"
            case .delete: "deleted"
            }
        case .wouldDo: "would \(action.summary)"
        case .deferred(let limit): "deferred: --max-actions \(limit) reached; next sweep"
        case .blocked: "blocked by PodDisruptionBudget, retried next sweep"
        case .alreadyGone: "pod already gone"
        case .failed(let message): "failed: \(message)"
        case .waiting(let reason): "waiting: \(reason); next sweep"
        }
    }
}

/// Carries out a plan: one API call per action, sequentially (writes are few; order keeps
/// `--max-actions` exact), then an Event on what was acted on. Event failures are logged, never fatal.
/// Evictions from one workload are paced (`EvictionPacer`): the next waits until the workload's
/// ready pods recovered from the last, and once a wait runs out the workload's remaining pods wait
/// for the next sweep.
public struct ActionExecutor: Sendable {
    public let cluster: any SweepCluster
    public let policy: ActionPolicy
    public let logger: Logger
    public let metrics: SweepMetrics

    public init(cluster: any SweepCluster, policy: ActionPolicy, logger: Logger, metrics: SweepMetrics) {
        self.cluster = cluster
        self.policy = policy
        self.logger = logger
        self.metrics = metrics
    }

    public func execute(_ plan: SweepPlan, now: Date = Date()) async -> [ActionResult] {
        var results: [ActionResult] = []
        var writes = 0
        /// Workloads whose last paced eviction has not recovered: their other pods wait.
        var stalled: [WorkloadReference: String] = [:]
        /// A paced eviction that succeeded: the next eviction from its workload waits for recovery first.
        var pending: [WorkloadReference: PendingRecovery] = [:]
        var cancelled = false
        for action in plan.actions {
            guard policy.writes else {
                results.append(ActionResult(action: action, outcome: .wouldDo))
                continue
            }
            if cancelled || Task.isCancelled {
                cancelled = true
                results.append(ActionResult(action: action, outcome: .waiting("sweep cancelled")))
                continue
            }
            if let pacing = action.pacing {
                if let reason = stalled[pacing.workload] {
                    results.append(ActionResult(action: action, outcome: .waiting(reason)))
                    continue
                }
                if let previous = pending.removeValue(forKey: pacing.workload) {
                    if let reason = await recover(previous, pacing: pacing) {
                        if reason == Self.cancelledReason { cancelled = true }
                        stalled[pacing.workload] = reason
                        results.append(ActionResult(action: action, outcome: .waiting(reason)))
                        continue
                    }
                }
            }
            if let limit = policy.maxActions, writes >= limit {
                results.append(ActionResult(action: action, outcome: .deferred(limit: limit)))
                continue
            }
            writes += 1
            let performed = await perform(action, now: now)
            let outcome = performed.outcome
            metrics.recordAction(action.operation, outcome: outcome)
            results.append(ActionResult(action: action, outcome: outcome))
            if outcome == .done { await announce(action) }
            if let pacing = action.pacing, case .evict(let pod) = action.operation {
                switch outcome {
                case .done:
                    let uid = action.evidence.first?.target.pod.uid ?? ""
                    pending[pacing.workload] = PendingRecovery(pod: pod, uid: uid, readyBefore: performed.readyBefore)
                case .blocked:
                    stalled[pacing.workload] = "eviction of \(pod) is blocked by a PodDisruptionBudget"
                    await warn(action, reason: "StaleImageEvictionBlocked", note: "kate sweep: evicting \(pod) was refused by a PodDisruptionBudget for \(EvictionPacer.text(policy.evictionWait)); \(pacing.workload)'s other stale pods wait for the next sweep")
                case .failed(let message) where message == Self.cancelledReason:
                    cancelled = true
                default:
                    break
                }
            }
        }
        return results
    }

    static let cancelledReason = "sweep cancelled"

    struct PendingRecovery {
        var pod: PodKey
        var uid: String
        var readyBefore: Int
    }

    /// nil when the workload recovered from the previous eviction; else why the next one waits.
    private func recover(_ previous: PendingRecovery, pacing: EvictionPacing) async -> String? {
        let pacer = EvictionPacer(cluster: cluster, policy: policy, logger: logger)
        do {
            try await pacer.waitForRecovery(of: pacing, evicted: previous.pod, uid: previous.uid, readyBefore: previous.readyBefore)
            return nil
        } catch {
            guard case .timedOut(let last) = error else { return Self.cancelledReason }
            let reason = "\(pacing.workload) did not recover from evicting \(previous.pod) within \(EvictionPacer.text(policy.evictionWait)) (\(last))"
            logger.warning("\(reason); its other stale pods wait for the next sweep")
            let subject = EventSubject(
                apiVersion: "apps/v1", kind: pacing.workload.kind.rawValue, namespace: pacing.workload.namespace, name: pacing.workload.name,
                uid: pacing.uid)
            await record(SweepEvent(
                regarding: subject, reason: "StaleImageEvictionStalled", action: "Evict",
                note: "kate sweep: \(reason); the remaining stale pods wait for the next sweep", type: "Warning"))
            return reason
        }
    }

    /// A struct, not a tuple: an async function returning a tuple across a suspension is what Swift
    /// 6.3.1 -O miscompiles (scripts/lint/async-tuples.py).
    struct Performed {
        var outcome: ActionOutcome
        /// Paced evictions: the workload's Ready pods just before the eviction.
        var readyBefore = 0
    }

    private func perform(_ action: PlannedAction, now: Date) async -> Performed {
        do {
            switch action.operation {
            case .rolloutRestart(let workload):
                try await cluster.rolloutRestart(workload, at: now)
                logger.notice("restarted \(workload) for stale images", metadata: ["pods": "\(action.pods.count)"])
                return Performed(outcome: .done, readyBefore: 0)
            case .evict(let pod):
                let pacer = EvictionPacer(cluster: cluster, policy: policy, logger: logger)
                let eviction = try await pacer.evict(pod, pacing: action.pacing)
                switch eviction {
                case .evicted(let readyBefore):
                    logger.notice("evicted pod \(pod) running a stale image", metadata: action.pacing.map { ["workload": "\($0.workload)"] } ?? [:])
                    return Performed(outcome: .done, readyBefore: readyBefore)
                case .blocked(let message):
                    logger.info("eviction of \(pod) blocked by a PodDisruptionBudget for \(EvictionPacer.text(policy.evictionWait)); retried next sweep", metadata: ["reason": "\(message)"])
                    return Performed(outcome: .blocked(message), readyBefore: 0)
                case .alreadyGone:
                    return Performed(outcome: .alreadyGone, readyBefore: 0)
                }
            case .delete(let pod, let uid):
                try await cluster.deletePod(namespace: pod.namespace, name: pod.name, uid: uid)
                logger.notice("deleted pod \(pod) running a stale image")
                return Performed(outcome: .done, readyBefore: 0)
            }
        } catch is CancellationError {
            return Performed(outcome: .failed(Self.cancelledReason), readyBefore: 0)
        } catch {
            logger.error("\(action.summary) failed: \(error)")
            return Performed(outcome: .failed("\(error)"), readyBefore: 0)
        }
    }

    private func announce(_ action: PlannedAction) async {
        await record(SweepEvent(
            regarding: action.subject, related: action.relatedPod, reason: EventNote.reason(for: action.operation),
            action: EventNote.verb(for: action.operation), note: EventNote.note(for: action)))
    }

    private func warn(_ action: PlannedAction, reason: String, note: String) async {
        await record(SweepEvent(regarding: action.subject, related: action.relatedPod, reason: reason, action: "Evict", note: note, type: "Warning"))
    }

    private func record(_ event: SweepEvent) async {
        do {
            try await cluster.recordEvent(event)
        } catch {
            logger.warning("could not record Event on \(event.regarding.kind) \(event.regarding.namespace)/\(event.regarding.name): \(error)")
        }
    }
}

/// Event wording: what `kubectl describe` shows to whoever wonders why their pods restarted.
enum EventNote {
    static func reason(for operation: PlannedAction.Operation) -> String {
        switch operation {
        case .rolloutRestart: "StaleImageRestarted"
        case .evict: "StaleImageEvicted"
        case .delete: "StaleImageDeleted"
        }
    }

    static func verb(for operation: PlannedAction.Operation) -> String {
        switch operation {
        case .rolloutRestart: "RolloutRestart"
        case .evict: "Evict"
        case .delete: "Delete"
        }
    }

    /// "kate sweep: container app tag nginx:1.27 moved sha256:aaaa… → sha256:bbbb… (3 pods)". The
    /// API caps notes at 1 KiB, so distinct containers are listed once and the text is truncated.
    static func note(for action: PlannedAction) -> String {
        var seen = Set<String>()
        var parts: [String] = []
        for finding in action.evidence {
            let tag = finding.target.tracking.image?.display ?? "?"
            // A node mismatch's pin is already current: the stale digest is the one the node runs.
            let old = finding.judgement.verdict == .nodeMismatch
                ? finding.target.running.digest : finding.target.pinnedDigest ?? finding.target.running.digest
            let line = "container \(finding.target.container) tag \(tag) \(finding.judgement.verdict.rawValue): "
                + "\(old ?? "unknown") -> \(finding.judgement.currentDigest ?? "unknown")"
            if seen.insert(line).inserted { parts.append(line) }
        }
        let text = "kate sweep (\(action.pods.count) pod\(action.pods.count == 1 ? "" : "s")): " + parts.joined(separator: "; ")
        return text.count > 1000 ? String(text.prefix(997)) + "..." : text
    }
}
