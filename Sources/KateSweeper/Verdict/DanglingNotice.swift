/// What a sweep tells about dangling pins besides the report rows: one Warning Event per owner
/// (what `kubectl describe` shows) and `kate_dangling_digests{namespace,owner}`.
enum DanglingNotice {
    struct Owner: Hashable, Sendable {
        var subject: EventSubject
        /// `Deployment/web`: the metric's label.
        var label: String { "\(subject.kind)/\(subject.name)" }
    }

    /// Owner → the dangling digests of its pods, with the containers for the note. The owner is what
    /// the sweep acted on for the pod (a Deployment for its ReplicaSet's pods), else the pod's
    /// controller, else the pod.
    static func owners(_ findings: [Finding], results: [ActionResult]) -> [Owner: [Finding]] {
        var actedOn: [PodKey: EventSubject] = [:]
        for result in results {
            for pod in result.action.pods { actedOn[pod] = result.action.subject }
        }
        var owners: [Owner: [Finding]] = [:]
        for finding in findings where finding.judgement.danglingDigest != nil {
            let pod = finding.target.pod
            let key = PodKey(namespace: pod.namespace, name: pod.name)
            let subject: EventSubject
            if let acted = actedOn[key] {
                subject = acted
            } else if let controller = pod.controller {
                subject = EventSubject(apiVersion: controller.apiVersion, kind: controller.kind, namespace: pod.namespace, name: controller.name, uid: controller.uid)
            } else {
                subject = EventSubject(apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: pod.uid)
            }
            owners[Owner(subject: subject), default: []].append(finding)
        }
        return owners
    }

    static let reason = "DanglingImageDigest"

    static func event(for owner: Owner, findings: [Finding]) -> SweepEvent {
        var seen = Set<String>()
        var parts: [String] = []
        for finding in findings {
            guard let digest = finding.judgement.danglingDigest else { continue }
            let tag = finding.target.tracking.image?.display ?? "?"
            let next = finding.judgement.verdict == .dangling && finding.judgement.currentDigest != nil
                ? "rolling onto \(finding.judgement.currentDigest ?? "")" : "not rolled (\(finding.judgement.verdict.rawValue))"
            let verb = finding.target.pinnedDigest == digest ? "pins" : "runs"
            let line = "container \(finding.target.container) tag \(tag) \(verb) \(digest), which the registry no longer has; \(next)"
            if seen.insert(line).inserted { parts.append(line) }
        }
        var note = "kate sweep: a reschedule would fail with ImagePullBackOff: " + parts.joined(separator: "; ")
        if note.count > 1000 { note = String(note.prefix(997)) + "..." }
        return SweepEvent(regarding: owner.subject, reason: reason, action: "CheckDigest", note: note, type: "Warning")
    }

    /// Distinct dangling digests per owner, for the gauge.
    static func counts(_ owners: [Owner: [Finding]]) -> [(namespace: String, owner: String, digests: Int)] {
        owners.map { owner, findings in
            (owner.subject.namespace, owner.label, Set(findings.compactMap(\.judgement.danglingDigest)).count)
        }.sorted { ($0.namespace, $0.owner) < ($1.namespace, $1.owner) }
    }
}
