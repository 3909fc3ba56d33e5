/// Everything one sweep found and did.
import Foundation
import KateContract

public struct SweepReport: Sendable {
    public var findings: [Finding]
    public var results: [ActionResult]
    /// Stale pods that got no write, and why.
    public var held: [PodKey: String]
    public var skipped: [SkippedPod]
    public var podCount: Int
    public var resolvedTags: Int
    public var resolveErrors: Int
    public var warnings: [String]
    public var policy: ActionPolicy
    public var duration: Duration
    /// Each pod's verdict: the worst of its containers.
    public let podVerdicts: [PodKey: Verdict]
    private let actionTexts: [PodKey: String]

    public init(
        findings: [Finding], results: [ActionResult], held: [PodKey: String], skipped: [SkippedPod], podCount: Int,
        resolvedTags: Int, resolveErrors: Int, warnings: [String], policy: ActionPolicy, duration: Duration
    ) {
        self.findings = findings
        self.results = results
        self.held = held
        self.skipped = skipped
        self.podCount = podCount
        self.resolvedTags = resolvedTags
        self.resolveErrors = resolveErrors
        self.warnings = warnings
        self.policy = policy
        self.duration = duration
        var verdicts: [PodKey: Verdict] = [:]
        for finding in findings {
            let key = PodKey(namespace: finding.target.pod.namespace, name: finding.target.pod.name)
            verdicts[key] = max(verdicts[key] ?? .current, finding.judgement.verdict)
        }
        podVerdicts = verdicts
        var texts = held
        for result in results {
            for pod in result.action.pods { texts[pod] = result.text }
        }
        actionTexts = texts
    }

    public var stalePods: Int { podVerdicts.values.filter(\.isStale).count }

    /// Skipped pods the report lists (the webhook's operator-owned skips); the other skips are only logged at debug.
    public var reportedSkips: [SkippedPod] { skipped.filter { $0.reason.hasPrefix(OperatorOwnership.reasonLabel + ":") } }

    /// The ACTION column for a pod: its action's outcome, or why it was held; "-" if nothing applies.
    public func actionText(for pod: PodKey) -> String {
        actionTexts[pod] ?? "-"
    }

    /// 0: all current (or stale pods handled); 2: stale pods found by `report`, `notify` or `--dry-run`, or held
    /// outside their maintenance window. (1, an error that stopped the sweep, is a thrown error, not a report.)
    public var exitCode: Int32 {
        let reportOnly = policy.action == .report || policy.action == .notify || policy.dryRun
        if held.values.contains(where: MaintenanceWindows.isWindowHold) { return 2 }
        return reportOnly && stalePods > 0 ? 2 : 0
    }

    /// "swept 70 pods: 64 current, 5 tag-moved, 1 unknown; 2 restarted, 1 blocked; 20 tags resolved (1 error) in 0.41s"
    public var summary: String {
        var counts: [Verdict: Int] = [:]
        for verdict in podVerdicts.values { counts[verdict, default: 0] += 1 }
        let verdicts = Verdict.allCases.filter { counts[$0] != nil }.map { "\(counts[$0] ?? 0) \($0.rawValue)" }
        var parts = ["swept \(podCount) pod\(podCount == 1 ? "" : "s")" + (verdicts.isEmpty ? "" : ": " + verdicts.joined(separator: ", "))]
        var outcomes: [String: Int] = [:]
        for result in results { outcomes[ActionSummary.label(result.outcome), default: 0] += 1 }
        if !held.isEmpty { outcomes["held", default: 0] += held.count }
        if !outcomes.isEmpty {
            parts.append(outcomes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        }
        let seconds = duration.seconds
        let errors = resolveErrors == 0 ? "" : " (\(resolveErrors) failed)"
        parts.append("\(resolvedTags) tag\(resolvedTags == 1 ? "" : "s") checked\(errors) in \(String(format: "%.2f", seconds))s")
        if policy.dryRun { parts.append("dry run: nothing written") }
        return parts.joined(separator: "; ")
    }
}

enum ActionSummary {
    static func label(_ outcome: ActionOutcome) -> String {
        switch outcome {
        case .done: "acted"
        case .wouldDo: "planned, not written"
        case .deferred: "deferred"
        case .blocked: "blocked"
        case .alreadyGone: "gone"
        case .failed: "failed"
        case .waiting: "waiting"
        }
    }
}
