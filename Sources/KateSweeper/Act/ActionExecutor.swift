import Foundation
import KateKube
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
    /// A restart checked within the sweep (`--wait`): what became of it.
    public var verification: RestartVerification?

    public init(action: PlannedAction, outcome: ActionOutcome, verification: RestartVerification? = nil) {
        self.action = action
        self.outcome = outcome
        self.verification = verification
    }

    /// The ACTION column for the action's pods.
    public var text: String {
        switch outcome {
        case .done:
            switch action.operation {
            case .rolloutRestart(let workload): "restarted \(workload.kind.rawValue)/\(workload.name)" + (verification.map { "; \($0.text)" } ?? "")
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
/// `--max-actions` exact), with Events on what was done and refused (`EventLedger`: one per object
/// and reason per sweep, repeats counted). Event failures are logged, never fatal.
/// Evictions from one workload are paced (`EvictionPacer`): the next waits until the workload's
/// ready pods recovered from the last, and once a wait runs out the workload's remaining pods wait
/// for the next sweep. With `--wait`, restarts are then verified (`RestartVerifier`) and a
/// reverted one falls back to its paced evictions in the same sweep.
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
        var run = Run()
        if policy.writes {
            for notice in plan.notices { await record(&run.ledger, notice) }
        }
        for action in plan.actions { await perform(action, in: &run, now: now) }
        guard policy.writes, let wait = policy.restartWait, !run.cancelled else { return run.results }
        let restarted = run.results.indices.filter { index in
            guard run.results[index].outcome == .done, case .rolloutRestart = run.results[index].action.operation else { return false }
            return true
        }
        guard !restarted.isEmpty else { return run.results }
        let written = restarted.compactMap { index -> (WorkloadReference, RestartRecord)? in
            guard case .rolloutRestart(let workload) = run.results[index].action.operation else { return nil }
            return (workload, RestartRecord(restartedAt: RFC3339.format(now), generation: run.results[index].action.generationBefore))
        }
        let verifier = RestartVerifier(cluster: cluster, wait: wait, pollInterval: policy.evictionPollInterval, logger: logger)
        let verdicts = await verifier.verify(Dictionary(written, uniquingKeysWith: { first, _ in first }))
        for index in restarted {
            let action = run.results[index].action
            guard case .rolloutRestart(let workload) = action.operation, let verification = verdicts[workload] else { continue }
            run.results[index].verification = verification
            guard case .reverted(let reversion) = verification else { continue }
            logger.warning("restart of \(workload) reverted: \(reversion.description); evicting its stale pods instead")
            await record(&run.ledger, RestartReverted.notice(action.subject, reversion, pods: action.pods, evidence: action.evidence))
            for eviction in action.fallback { await perform(eviction, in: &run, now: now) }
        }
        return run.results
    }

    /// What one execution accumulates across its actions.
    struct Run {
        var results: [ActionResult] = []
        var writes = 0
        /// Workloads whose last paced eviction has not recovered: their other pods wait.
        var stalled: [WorkloadReference: String] = [:]
        /// A paced eviction that succeeded: the next eviction from its workload waits for recovery first.
        var pending: [WorkloadReference: PendingRecovery] = [:]
        var cancelled = false
        var ledger = EventLedger()
    }

    private func perform(_ action: PlannedAction, in run: inout Run, now: Date) async {
        guard policy.writes else {
            run.results.append(ActionResult(action: action, outcome: .wouldDo))
            return
        }
        if run.cancelled || Task.isCancelled {
            run.cancelled = true
            run.results.append(ActionResult(action: action, outcome: .waiting("sweep cancelled")))
            return
        }
        if let pacing = action.pacing {
            if let reason = run.stalled[pacing.workload] {
                run.results.append(ActionResult(action: action, outcome: .waiting(reason)))
                return
            }
            if let previous = run.pending.removeValue(forKey: pacing.workload) {
                if let reason = await recover(previous, pacing: pacing, subject: action.subject, ledger: &run.ledger) {
                    if reason == Self.cancelledReason { run.cancelled = true }
                    run.stalled[pacing.workload] = reason
                    run.results.append(ActionResult(action: action, outcome: .waiting(reason)))
                    return
                }
            }
        }
        if let limit = policy.maxActions, run.writes >= limit {
            run.results.append(ActionResult(action: action, outcome: .deferred(limit: limit)))
            await record(&run.ledger, PlannedNotice(
                subject: action.subject, reason: "StaleImageDeferred", action: EventNote.verb(for: action.operation),
                lead: "not \(EventNote.lead(for: action.operation)): --max-actions \(limit) reached; the next sweep goes on", pods: action.pods,
                evidence: action.evidence), related: action.relatedPod)
            return
        }
        run.writes += 1
        let performed = await perform(action, now: now)
        let outcome = performed.outcome
        metrics.recordAction(action.operation, outcome: outcome)
        run.results.append(ActionResult(action: action, outcome: outcome))
        switch outcome {
        case .done:
            await record(&run.ledger, PlannedNotice(
                subject: action.subject, reason: EventNote.reason(for: action.operation), action: EventNote.verb(for: action.operation),
                lead: EventNote.lead(for: action.operation), pods: action.pods, evidence: action.evidence), related: action.relatedPod)
        case .failed(let message) where message != Self.cancelledReason:
            await record(&run.ledger, PlannedNotice(
                subject: action.subject, reason: "StaleImageActionFailed", action: EventNote.verb(for: action.operation),
                lead: "\(action.summary) failed: \(message)", type: "Warning", pods: action.pods, evidence: action.evidence), related: action.relatedPod)
        default:
            break
        }
        if let pacing = action.pacing, case .evict(let pod) = action.operation {
            switch outcome {
            case .done:
                let uid = action.evidence.first?.target.pod.uid ?? ""
                run.pending[pacing.workload] = PendingRecovery(pod: pod, uid: uid, readyBefore: performed.readyBefore)
            case .blocked:
                run.stalled[pacing.workload] = "eviction of \(pod) is blocked by a PodDisruptionBudget"
                await record(&run.ledger, PlannedNotice(
                    subject: action.subject, reason: "StaleImageEvictionBlocked", action: "Evict",
                    lead: "evicting \(pod) was refused by a PodDisruptionBudget for \(EvictionPacer.text(policy.evictionWait)); \(pacing.workload)'s other stale pods wait for the next sweep",
                    type: "Warning", pods: action.pods, evidence: action.evidence), related: action.relatedPod)
            case .failed(let message) where message == Self.cancelledReason:
                run.cancelled = true
            default:
                break
            }
        }
    }

    static let cancelledReason = "sweep cancelled"

    struct PendingRecovery {
        var pod: PodKey
        var uid: String
        var readyBefore: Int
    }

    /// nil when the workload recovered from the previous eviction; else why the next one waits.
    private func recover(_ previous: PendingRecovery, pacing: EvictionPacing, subject: EventSubject, ledger: inout EventLedger) async -> String? {
        let pacer = EvictionPacer(cluster: cluster, policy: policy, logger: logger)
        do {
            try await pacer.waitForRecovery(of: pacing, evicted: previous.pod, uid: previous.uid, readyBefore: previous.readyBefore)
            return nil
        } catch {
            guard case .timedOut(let last) = error else { return Self.cancelledReason }
            let reason = "\(pacing.workload) did not recover from evicting \(previous.pod) within \(EvictionPacer.text(policy.evictionWait)) (\(last))"
            logger.warning("\(reason); its other stale pods wait for the next sweep")
            await record(&ledger, PlannedNotice(
                subject: subject, reason: "StaleImageEvictionStalled", action: "Evict", lead: "\(reason); the remaining stale pods wait for the next sweep",
                type: "Warning"))
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
                let record = RestartRecord(restartedAt: RFC3339.format(now), generation: action.generationBefore)
                try await cluster.rolloutRestart(workload, at: now, recording: record.text)
                logger.notice("restarted \(workload) for stale images", metadata: ["pods": "\(action.pods.count)"])
                if workload.kind == .rollout { logger.warning("\(ArgoRollouts.canaryWarning(workload))") }
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

    /// The one place Events are sent: the ledger turns a repeat into a series update.
    private func record(_ ledger: inout EventLedger, _ notice: PlannedNotice, related: EventSubject? = nil) async {
        let event = ledger.occurrence(of: notice, related: related, at: Date())
        do {
            try await cluster.recordEvent(event)
        } catch {
            logger.warning("could not record Event \(event.reason) on \(event.regarding.kind) \(event.regarding.namespace)/\(event.regarding.name): \(error)")
        }
    }
}

/// Event wording: what `kubectl describe` shows to whoever wonders why their pods restarted (or did not).
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

    static func lead(for operation: PlannedAction.Operation) -> String {
        switch operation {
        case .rolloutRestart(let workload) where workload.kind == .rollout: "restarted through spec.restartAt (the canary steps are skipped)"
        case .rolloutRestart: "restarted"
        case .evict: "evicted"
        case .delete: "deleted"
        }
    }

    static func note(for action: PlannedAction) -> String {
        note(lead: lead(for: action.operation), pods: action.pods, evidence: action.evidence)
    }

    /// "kate sweep: evicted 2 pods (db-0, db-1): container app registry/db:16 tag-moved: tag sha256:bbbbbbbbbbbb,
    /// running sha256:aaaaaaaaaaaa, pinned sha256:aaaaaaaaaaaa". The class is the verdict; the three digests are
    /// what the tag means now, what the node runs, and what the pod pins. The API caps notes at 1 KiB, so
    /// distinct containers are listed once, pod names at most five, and the text is truncated.
    static func note(lead: String, pods: [PodKey], evidence: [Finding]) -> String {
        var seen = Set<String>()
        var parts: [String] = []
        for finding in evidence {
            let tag = finding.target.tracking.image?.display ?? "?"
            let line = "container \(finding.target.container) \(tag) \(finding.judgement.verdict.rawValue): tag \(ImageDigest.short(finding.judgement.currentDigest)), "
                + "running \(ImageDigest.short(finding.target.running.digest)), pinned \(finding.target.pinnedDigest.map { ImageDigest.short($0) } ?? "none")"
            if seen.insert(line).inserted { parts.append(line) }
        }
        var text = "kate sweep: \(lead)"
        if !pods.isEmpty {
            let names = pods.prefix(5).map(\.name).joined(separator: ", ") + (pods.count > 5 ? ", +\(pods.count - 5) more" : "")
            text += " (\(pods.count) pod\(pods.count == 1 ? "" : "s"): \(names))"
        }
        if !parts.isEmpty { text += ": " + parts.joined(separator: "; ") }
        return text.count > 1000 ? String(text.prefix(997)) + "..." : text
    }
}
