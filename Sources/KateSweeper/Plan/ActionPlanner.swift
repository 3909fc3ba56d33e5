import KateContract

/// Decides, per owner, what to do about its stale pods — once per sweep, however many pods it has.
///
/// Pod → ReplicaSet → Deployment, StatefulSet and DaemonSet get a rollout restart (what
/// `kubectl rollout restart` does); where a restart replaces nothing (OnDelete, a ReplicaSet without
/// Deployment, a bare pod) stale pods are evicted one at a time, each after the workload's ready pods
/// recovered from the last (`ActionExecutor`, bounded by `--eviction-wait`). Job pods are only
/// reported: the next run starts fresh.
public struct ActionPlanner: Sendable {
    public let action: SweepAction

    public init(action: SweepAction) {
        self.action = action
    }

    public func plan(_ findings: [Finding], owners: OwnerDirectory) -> SweepPlan {
        var plan = SweepPlan()
        let stale = Dictionary(grouping: findings.filter { $0.judgement.verdict.isStale }) {
            PodKey(namespace: $0.target.pod.namespace, name: $0.target.pod.name)
        }
        var units: [Unit: [PodKey]] = [:]
        for pod in stale.keys.sorted() {
            guard let identity = stale[pod]?.first?.target.pod else { continue }
            switch unit(for: identity, owners: owners) {
            case .hold(let reason): plan.held[pod] = reason
            case .act(let unit): units[unit, default: []].append(pod)
            }
        }
        for (unit, pods) in units.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            let evidence = pods.flatMap { stale[$0] ?? [] }
            plan.append(actionsFor: unit, pods: pods, evidence: evidence, stale: stale)
        }
        return plan
    }

    /// What acts for a pod: a workload restart, eviction within an owner, deletion, or nothing.
    enum Unit: Hashable {
        case restart(WorkloadState)
        case evict(owner: String, state: WorkloadState?)
        case delete(PodKey)

        var sortKey: String {
            switch self {
            case .restart(let state): "1 \(state.reference)"
            case .evict(let owner, _): "2 \(owner)"
            case .delete(let pod): "3 \(pod)"
            }
        }
    }

    enum Decision {
        case act(Unit)
        case hold(String)
    }

    func unit(for pod: PodIdentity, owners: OwnerDirectory) -> Decision {
        let key = PodKey(namespace: pod.namespace, name: pod.name)
        guard let ownerRef = pod.controller else {
            return action == .delete ? .act(.delete(key)) : .act(.evict(owner: "Pod \(key)", state: nil))
        }
        guard let reference = OwnerDirectory.reference(for: ownerRef, namespace: pod.namespace) else {
            return .hold("owner \(ownerRef.kind)/\(ownerRef.name) is not a kind kate restarts")
        }
        if reference.kind == .job || reference.kind == .cronJob {
            return .hold("Job pods are reported only; the next run pulls the tag again")
        }
        if let failure = owners.failures[reference] { return .hold(failure) }
        guard let owner = owners.state(reference) else { return .hold("\(reference) no longer exists") }
        if owner.isOptedOut { return .hold("\(reference) opted out (\(KateAnnotations.skip))") }
        if action == .delete { return .act(.delete(key)) }
        switch reference.kind {
        case .replicaSet:
            if let parentRef = OwnerDirectory.reference(for: owner.controller, namespace: pod.namespace) {
                if let failure = owners.failures[parentRef] { return .hold(failure) }
                guard let parent = owners.state(parentRef) else { return .hold("\(parentRef) no longer exists") }
                if parent.isOptedOut { return .hold("\(parentRef) opted out (\(KateAnnotations.skip))") }
                return restartable(parent)
            }
            if owner.controller != nil { return .hold("\(reference) is controlled by a kind kate does not restart") }
            return .act(.evict(owner: reference.description, state: owner))
        case .statefulSet, .daemonSet:
            if owner.updateStrategy == "OnDelete" {
                return .act(.evict(owner: reference.description, state: owner))
            }
            return restartable(owner)
        case .deployment:
            return restartable(owner)
        case .job, .cronJob:
            return .hold("Job pods are reported only; the next run pulls the tag again")
        }
    }

    private func restartable(_ owner: WorkloadState) -> Decision {
        if owner.paused {
            return .hold("\(owner.reference) is paused; not restarted (run `kubectl rollout resume` first)")
        }
        if let progress = owner.rolloutInProgress {
            return .hold("\(owner.reference) rollout in progress (\(progress)); retried next sweep")
        }
        return .act(.restart(owner))
    }
}

extension SweepPlan {
    /// Adds the writes for one unit, or holds its pods when a write could not help.
    mutating func append(actionsFor unit: ActionPlanner.Unit, pods: [PodKey], evidence: [Finding], stale: [PodKey: [Finding]]) {
        switch unit {
        case .restart(let owner):
            if let pinned = TemplatePins.pinnedContainers(of: owner, stale: evidence) {
                for pod in pods { held[pod] = "template pins a digest; update the manifest (\(pinned))" }
                return
            }
            let subject = EventSubject(
                apiVersion: "apps/v1", kind: owner.reference.kind.rawValue, namespace: owner.reference.namespace,
                name: owner.reference.name, uid: owner.uid)
            actions.append(PlannedAction(operation: .rolloutRestart(owner.reference), subject: subject, pods: pods, evidence: evidence))
        case .evict(_, let state):
            if let state, let pinned = TemplatePins.pinnedContainers(of: state, stale: evidence) {
                for pod in pods { held[pod] = "template pins a digest; update the manifest (\(pinned))" }
                return
            }
            guard let state else {
                // A bare pod: nothing replaces it, so nothing to wait for.
                for pod in pods {
                    let podEvidence = stale[pod] ?? []
                    actions.append(PlannedAction(operation: .evict(pod), subject: podSubject(pod, evidence: podEvidence), pods: [pod], evidence: podEvidence))
                }
                return
            }
            // Paced like `kubectl drain`: the executor evicts one pod, waits for the workload's ready
            // pods to recover, then evicts the next. The Event regards the workload, with the pod related.
            let pacing = EvictionPacing(workload: state.reference, uid: state.uid, selector: state.selector)
            let subject = EventSubject(
                apiVersion: "apps/v1", kind: state.reference.kind.rawValue, namespace: state.reference.namespace,
                name: state.reference.name, uid: state.uid)
            for pod in pods {
                let podEvidence = stale[pod] ?? []
                actions.append(PlannedAction(
                    operation: .evict(pod), subject: subject, pods: [pod], evidence: podEvidence, pacing: pacing,
                    relatedPod: podSubject(pod, evidence: podEvidence)))
            }
        case .delete(let pod):
            let podEvidence = stale[pod] ?? []
            let uid = podEvidence.first?.target.pod.uid ?? ""
            actions.append(PlannedAction(operation: .delete(pod, uid: uid), subject: podSubject(pod, evidence: podEvidence), pods: [pod], evidence: podEvidence))
        }
    }

    private func podSubject(_ pod: PodKey, evidence: [Finding]) -> EventSubject {
        EventSubject(apiVersion: "v1", kind: "Pod", namespace: pod.namespace, name: pod.name, uid: evidence.first?.target.pod.uid ?? "")
    }
}

/// A template that pins `repo@sha256:` itself cannot be fixed by a restart: new pods get the same digest.
enum TemplatePins {
    /// "app=nginx@sha256:0123…" for the stale containers whose template image pins a digest; nil if none does.
    static func pinnedContainers(of owner: WorkloadState, stale: [Finding]) -> String? {
        let names = Set(stale.map(\.target.container)).sorted()
        let pinned = names.compactMap { name -> String? in
            guard let image = owner.templateImages[name], let at = image.lastIndex(of: "@") else { return nil }
            let digest = String(image[image.index(after: at)...])
            return "\(name)=…@\(ImageDigest.short(digest))"
        }
        return pinned.isEmpty ? nil : pinned.joined(separator: ", ")
    }
}
