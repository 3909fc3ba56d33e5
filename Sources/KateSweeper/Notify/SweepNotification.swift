import Foundation

/// One thing a sweep tells a webhook about: an action it took or planned, stale pods it held (and
/// why), or a guard that fired. Built from the report alone (no cluster reads), so a notification
/// says the same whatever cluster or API server produced it.
public struct SweepNotification: Sendable, Equatable {
    /// `action` (a restart, eviction or deletion: done, planned, blocked, failed, …), `held` (stale
    /// pods given no action, with the reason) or `guard` (a safety guard fired with nothing held).
    public var event: String
    /// The guard behind it: `dangling`, `platform-gap`, `restart-reverted` or `outside-window`; nil for none.
    public var guardName: String?
    public var namespace: String
    /// `Deployment/web`; a bare pod: `Pod/name`.
    public var owner: String
    /// The worst verdict of the pods concerned.
    public var verdict: String
    /// `restart`, `evict`, `delete`, or `hold` (held pods and guards).
    public var action: String
    /// `done`, `planned`, `deferred`, `blocked`, `gone`, `failed`, `waiting`, or `held`.
    public var outcome: String
    /// The report's ACTION column, or the guard's reason.
    public var reason: String
    /// The first image concerned; every one is in `images`.
    public var tag: String?
    public var oldDigest: String?
    public var newDigest: String?
    public var pods: [String]
    public var images: [Image]
    /// RFC 3339 UTC: the sweep's start (the instant its window decision was made for).
    public var sweepTime: String

    public struct Image: Sendable, Equatable, Hashable {
        public var container: String
        public var tag: String?
        public var oldDigest: String?
        public var newDigest: String?
    }

    /// The JSON body (`guardName` is `guard`): every key always present (`null` when unknown), so
    /// receivers get one fixed shape.
    var jsonObject: [String: Any] {
        func nullable(_ value: String?) -> Any { value ?? NSNull() }
        return [
            "event": event, "guard": nullable(guardName), "namespace": namespace, "owner": owner, "verdict": verdict, "action": action,
            "outcome": outcome, "reason": reason, "tag": nullable(tag), "oldDigest": nullable(oldDigest), "newDigest": nullable(newDigest),
            "pods": pods, "sweepTime": sweepTime,
            "images": images.map { ["container": $0.container, "tag": nullable($0.tag), "oldDigest": nullable($0.oldDigest), "newDigest": nullable($0.newDigest)] },
        ]
    }

    /// One line for logs and Slack's `text`: "restart Deployment default/web: done (app:1 sha256:1111… → sha256:2222…)".
    public var headline: String {
        let digests = tag.map { tag in " (\(tag) \(oldDigest.map(ImageDigest.short) ?? "?") → \(newDigest.map(ImageDigest.short) ?? "?"))" } ?? ""
        let subject = owner.split(separator: "/", maxSplits: 1)
        let named = subject.count == 2 ? "\(subject[0]) \(namespace)/\(subject[1])" : "\(namespace)/\(owner)"
        let what = action == "hold" ? (guardName.map { "\($0): " } ?? "held: ") : "\(action) "
        return "kate sweep: \(what)\(named)\(digests): \(outcome == "held" ? reason : "\(outcome); \(reason)")"
    }
}

/// Turns a sweep's report into its notifications.
public enum SweepNotifications {
    static let guardVerdicts: [Verdict: String] = [
        .dangling: "dangling", .platformGap: "platform-gap", .restartReverted: "restart-reverted", .coolingDown: "cooling-down",
    ]

    public static func build(from report: SweepReport, sweepTime: Date) -> [SweepNotification] {
        let time = rfc3339(sweepTime)
        let byPod = Dictionary(grouping: report.findings) { PodKey(namespace: $0.target.pod.namespace, name: $0.target.pod.name) }
        var covered = Set<PodKey>()
        var notifications: [SweepNotification] = []

        for result in report.results {
            let pods = result.action.pods
            covered.formUnion(pods)
            let verdict = pods.compactMap { report.podVerdicts[$0] }.max() ?? .tagMoved
            let subject = result.action.subject
            notifications.append(make(
                event: "action", guardName: guardVerdicts[verdict], namespace: subject.namespace, owner: "\(subject.kind)/\(subject.name)",
                verdict: verdict, action: actionName(result.action.operation), outcome: outcomeName(result.outcome), reason: result.text,
                pods: pods, findings: evidence(pods, byPod, fallback: result.action.evidence), time: time))
        }

        struct Group: Hashable {
            var namespace: String
            var owner: String
            var reason: String
        }
        var held: [Group: [PodKey]] = [:]
        for (pod, reason) in report.held {
            covered.insert(pod)
            let owner = byPod[pod]?.first.map { ownerName($0.target.pod) } ?? "Pod/\(pod.name)"
            held[Group(namespace: pod.namespace, owner: owner, reason: reason), default: []].append(pod)
        }
        for (group, pods) in held.sorted(by: { ($0.key.namespace, $0.key.owner, $0.key.reason) < ($1.key.namespace, $1.key.owner, $1.key.reason) }) {
            let sorted = pods.sorted()
            let verdict = sorted.compactMap { report.podVerdicts[$0] }.max() ?? .tagMoved
            let guardName = MaintenanceWindows.isWindowHold(group.reason) ? "outside-window" : guardVerdicts[verdict]
            notifications.append(make(
                event: "held", guardName: guardName, namespace: group.namespace, owner: group.owner, verdict: verdict, action: "hold",
                outcome: "held", reason: group.reason, pods: sorted, findings: evidence(sorted, byPod, fallback: []), time: time))
        }

        // Guards that fired on pods no action or hold speaks for (a platform gap is not stale: never held).
        var guarded: [Group: [Finding]] = [:]
        for finding in report.findings {
            let pod = PodKey(namespace: finding.target.pod.namespace, name: finding.target.pod.name)
            guard !covered.contains(pod), let name = guardVerdicts[finding.judgement.verdict] else { continue }
            let group = Group(namespace: pod.namespace, owner: ownerName(finding.target.pod), reason: finding.judgement.reason ?? name)
            guarded[group, default: []].append(finding)
        }
        for (group, findings) in guarded.sorted(by: { ($0.key.namespace, $0.key.owner, $0.key.reason) < ($1.key.namespace, $1.key.owner, $1.key.reason) }) {
            let verdict = findings.map(\.judgement.verdict).max() ?? .platformGap
            let pods = Array(Set(findings.map { PodKey(namespace: $0.target.pod.namespace, name: $0.target.pod.name) })).sorted()
            notifications.append(make(
                event: "guard", guardName: guardVerdicts[verdict], namespace: group.namespace, owner: group.owner, verdict: verdict,
                action: "hold", outcome: "held", reason: group.reason, pods: pods, findings: findings, time: time))
        }
        return notifications
    }

    /// The stale (or guarded) containers of `pods`, as the report judged them last.
    private static func evidence(_ pods: [PodKey], _ byPod: [PodKey: [Finding]], fallback: [Finding]) -> [Finding] {
        let found = pods.flatMap { byPod[$0] ?? [] }.filter { $0.judgement.verdict.isStale || guardVerdicts[$0.judgement.verdict] != nil }
        return found.isEmpty ? fallback : found
    }

    private static func make(
        event: String, guardName: String?, namespace: String, owner: String, verdict: Verdict, action: String, outcome: String, reason: String,
        pods: [PodKey], findings: [Finding], time: String
    ) -> SweepNotification {
        var images: [SweepNotification.Image] = []
        var seen = Set<SweepNotification.Image>()
        for finding in findings {
            let target = finding.target
            let image = SweepNotification.Image(
                container: target.container, tag: target.tracking.image?.display, oldDigest: target.pinnedDigest ?? target.running.digest,
                newDigest: finding.judgement.currentDigest)
            if seen.insert(image).inserted { images.append(image) }
        }
        return SweepNotification(
            event: event, guardName: guardName, namespace: namespace, owner: owner, verdict: verdict.rawValue, action: action, outcome: outcome,
            reason: reason, tag: images.first?.tag, oldDigest: images.first?.oldDigest, newDigest: images.first?.newDigest,
            pods: pods.map(\.name), images: images, sweepTime: time)
    }

    /// A pod's owner as a person names it: a Deployment's ReplicaSet `web-7d4b9` (its pods'
    /// `pod-template-hash` is `7d4b9`) is `Deployment/web`.
    static func ownerName(_ pod: PodIdentity) -> String {
        guard let controller = pod.controller else { return "Pod/\(pod.name)" }
        if controller.kind == "ReplicaSet", let hash = pod.revision, controller.name.hasSuffix("-\(hash)") {
            return "Deployment/\(controller.name.dropLast(hash.count + 1))"
        }
        return "\(controller.kind)/\(controller.name)"
    }

    static func actionName(_ operation: PlannedAction.Operation) -> String {
        switch operation {
        case .rolloutRestart: "restart"
        case .evict: "evict"
        case .delete: "delete"
        }
    }

    static func outcomeName(_ outcome: ActionOutcome) -> String {
        switch outcome {
        case .done: "done"
        case .wouldDo: "planned"
        case .deferred: "deferred"
        case .blocked: "blocked"
        case .alreadyGone: "gone"
        case .failed: "failed"
        case .waiting: "waiting"
        }
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
