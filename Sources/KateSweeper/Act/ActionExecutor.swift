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

    public var isWrite: Bool {
        switch self {
        case .done, .blocked, .alreadyGone, .failed: true
        case .wouldDo, .deferred: false
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
        }
    }
}

/// Carries out a plan: one API call per action, sequentially (writes are few; order keeps
/// `--max-actions` exact), then an Event on what was acted on. Event failures are logged, never fatal.
public struct ActionExecutor: Sendable {
    public let cluster: any ClusterWriting
    public let policy: ActionPolicy
    public let logger: Logger
    public let metrics: SweepMetrics

    public init(cluster: any ClusterWriting, policy: ActionPolicy, logger: Logger, metrics: SweepMetrics) {
        self.cluster = cluster
        self.policy = policy
        self.logger = logger
        self.metrics = metrics
    }

    public func execute(_ plan: SweepPlan, now: Date = Date()) async -> [ActionResult] {
        var results: [ActionResult] = []
        var writes = 0
        for action in plan.actions {
            guard policy.writes else {
                results.append(ActionResult(action: action, outcome: .wouldDo))
                continue
            }
            if let limit = policy.maxActions, writes >= limit {
                results.append(ActionResult(action: action, outcome: .deferred(limit: limit)))
                continue
            }
            writes += 1
            let outcome = await perform(action, now: now)
            metrics.recordAction(action.operation, outcome: outcome)
            results.append(ActionResult(action: action, outcome: outcome))
            if outcome == .done { await announce(action) }
        }
        return results
    }

    private func perform(_ action: PlannedAction, now: Date) async -> ActionOutcome {
        do {
            switch action.operation {
            case .rolloutRestart(let workload):
                try await cluster.rolloutRestart(workload, at: now)
                logger.notice("restarted \(workload) for stale images", metadata: ["pods": "\(action.pods.count)"])
                return .done
            case .evict(let pod):
                switch try await cluster.evict(namespace: pod.namespace, pod: pod.name) {
                case .evicted:
                    logger.notice("evicted pod \(pod) running a stale image")
                    return .done
                case .blockedByDisruptionBudget(let message):
                    logger.info("eviction of \(pod) blocked by a PodDisruptionBudget; retried next sweep", metadata: ["reason": "\(message)"])
                    return .blocked(message)
                case .alreadyGone:
                    return .alreadyGone
                }
            case .delete(let pod, let uid):
                try await cluster.deletePod(namespace: pod.namespace, name: pod.name, uid: uid)
                logger.notice("deleted pod \(pod) running a stale image")
                return .done
            }
        } catch {
            logger.error("\(action.summary) failed: \(error)")
            return .failed("\(error)")
        }
    }

    private func announce(_ action: PlannedAction) async {
        let event = SweepEvent(
            regarding: action.subject, reason: EventNote.reason(for: action.operation), action: EventNote.verb(for: action.operation),
            note: EventNote.note(for: action))
        do {
            try await cluster.recordEvent(event)
        } catch {
            logger.warning("could not record Event on \(action.subject.kind) \(action.subject.namespace)/\(action.subject.name): \(error)")
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
