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
        var holds: [EventSubject: (reason: String, pods: [PodKey])] = [:]
        /// Each stale pod's own controller (a Deployment's pods: their ReplicaSet): what a paced
        /// eviction waits on, should a restart be reverted.
        var controllers: [PodKey: WorkloadState] = [:]
        for pod in stale.keys.sorted() {
            guard let identity = stale[pod]?.first?.target.pod else { continue }
            if let reference = OwnerDirectory.reference(for: identity.controller, namespace: identity.namespace), let state = owners.state(reference) {
                controllers[pod] = state
            }
            switch unit(for: identity, owners: owners) {
            case .hold(let reason, let subject):
                plan.held[pod] = reason
                if let subject { holds[subject, default: (reason, [])].pods.append(pod) }
            case .act(let unit): units[unit, default: []].append(pod)
            }
        }
        for (unit, pods) in units.sorted(by: { $0.key.sortKey < $1.key.sortKey }) {
            let evidence = pods.flatMap { stale[$0] ?? [] }
            plan.append(actionsFor: unit, pods: pods, evidence: evidence, stale: stale, controllers: controllers)
        }
        // What kate refused to do is an Event too, once per owner, so `kubectl describe` answers "why not?".
        for (subject, hold) in holds.sorted(by: { "\($0.key.namespace)/\($0.key.name)" < "\($1.key.namespace)/\($1.key.name)" }) {
            plan.notices.append(PlannedNotice(
                subject: subject, reason: "StaleImageHeld", action: "Hold", lead: "not restarted: \(hold.reason)", pods: hold.pods,
                evidence: hold.pods.flatMap { stale[$0] ?? [] }))
        }
        return plan
    }

    /// What acts for a pod: a workload restart, eviction within an owner, deletion, or nothing.
    enum Unit: Hashable {
        case restart(WorkloadState)
        case evict(owner: String, state: WorkloadState?)
        /// Another field manager reverted kate's last restart of the owner: its pods are evicted instead.
        case evictReverted(WorkloadState, RestartReversion)
        case delete(PodKey)

        var sortKey: String {
            switch self {
            case .restart(let state): "1 \(state.reference)"
            case .evict(let owner, _): "2 \(owner)"
            case .evictReverted(let state, _): "2 \(state.reference)"
            case .delete(let pod): "3 \(pod)"
            }
        }
    }

    enum Decision {
        case act(Unit)
        /// Why not, and the owner an Event about it goes to (nil: no Event, e.g. an opt-out).
        case hold(String, EventSubject? = nil)
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
        case .deployment, .rollout:
            return restartable(owner)
        case .job, .cronJob:
            return .hold("Job pods are reported only; the next run pulls the tag again")
        }
    }

    /// A restart, unless the owner is paused or still rolling — or kate's last restart of it was
    /// reverted by another field manager (read back from `RestartRecord`), when evicting is the way left.
    private func restartable(_ owner: WorkloadState) -> Decision {
        let subject = EventSubject(owner)
        if owner.paused {
            let resume = owner.reference.kind == .rollout ? "kubectl argo rollouts promote" : "kubectl rollout resume"
            return .hold("\(owner.reference) is paused; not restarted (run `\(resume)` first)", subject)
        }
        switch RestartCheck.check(owner) {
        case .reverted(let reversion):
            return .act(.evictReverted(owner, reversion))
        case .rolling(let progress):
            return .hold("\(owner.reference) rollout in progress (\(progress)); retried next sweep", subject)
        case .noRecord, .progressed:
            if let progress = owner.rolloutInProgress {
                return .hold("\(owner.reference) rollout in progress (\(progress)); retried next sweep", subject)
            }
            return .act(.restart(owner))
        }
    }
}

extension SweepPlan {
    /// Adds the writes for one unit, or holds its pods when a write could not help.
    mutating func append(
        actionsFor unit: ActionPlanner.Unit, pods: [PodKey], evidence: [Finding], stale: [PodKey: [Finding]], controllers: [PodKey: WorkloadState] = [:]
    ) {
        switch unit {
        case .restart(let owner):
            if holdPinned(owner, pods: pods, evidence: evidence) { return }
            let fallback = pacedEvictions(of: pods, owner: owner, stale: stale, controllers: controllers)
            actions.append(PlannedAction(
                operation: .rolloutRestart(owner.reference), subject: EventSubject(owner), pods: pods, evidence: evidence,
                generationBefore: owner.generation, fallback: fallback))
            if owner.reference.kind == .rollout { warnings.append(ArgoRollouts.canaryWarning(owner.reference)) }
        case .evictReverted(let owner, let reversion):
            if holdPinned(owner, pods: pods, evidence: evidence) { return }
            for pod in pods { reverted[pod] = reversion }
            notices.append(RestartReverted.notice(EventSubject(owner), reversion, pods: pods, evidence: evidence))
            actions.append(contentsOf: pacedEvictions(of: pods, owner: owner, stale: stale, controllers: controllers))
        case .evict(_, let state):
            if let state, holdPinned(state, pods: pods, evidence: evidence) { return }
            guard let state else {
                // A bare pod: nothing replaces it, so nothing to wait for.
                for pod in pods {
                    let podEvidence = stale[pod] ?? []
                    actions.append(PlannedAction(operation: .evict(pod), subject: podSubject(pod, evidence: podEvidence), pods: [pod], evidence: podEvidence))
                }
                return
            }
            actions.append(contentsOf: pacedEvictions(of: pods, owner: state, stale: stale, controllers: [:]))
        case .delete(let pod):
            let podEvidence = stale[pod] ?? []
            let uid = podEvidence.first?.target.pod.uid ?? ""
            actions.append(PlannedAction(operation: .delete(pod, uid: uid), subject: podSubject(pod, evidence: podEvidence), pods: [pod], evidence: podEvidence))
        }
    }

    /// Paced like `kubectl drain`: the executor evicts one pod, waits for its controller's ready pods
    /// to recover (a Deployment's pods: their ReplicaSet's), then evicts the next. The Event regards
    /// `owner`, with the pod related.
    private func pacedEvictions(of pods: [PodKey], owner: WorkloadState, stale: [PodKey: [Finding]], controllers: [PodKey: WorkloadState]) -> [PlannedAction] {
        pods.map { pod in
            let controller = controllers[pod] ?? owner
            let podEvidence = stale[pod] ?? []
            return PlannedAction(
                operation: .evict(pod), subject: EventSubject(owner), pods: [pod], evidence: podEvidence,
                pacing: EvictionPacing(workload: controller.reference, uid: controller.uid, selector: controller.selector),
                relatedPod: podSubject(pod, evidence: podEvidence))
        }
    }

    /// A template that pins digests itself: nothing kate does helps; say so on the pods and in an Event.
    private mutating func holdPinned(_ owner: WorkloadState, pods: [PodKey], evidence: [Finding]) -> Bool {
        guard let pinned = TemplatePins.pinnedContainers(of: owner, stale: evidence) else { return false }
        let reason = "template pins a digest; update the manifest (\(pinned))"
        for pod in pods { held[pod] = reason }
        notices.append(PlannedNotice(subject: EventSubject(owner), reason: "StaleImageHeld", action: "Hold", lead: "not restarted: \(reason)", pods: pods, evidence: evidence))
        return true
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

extension EventSubject {
    /// The workload itself, as an Event's `regarding`.
    init(_ workload: WorkloadState) {
        self.init(
            apiVersion: workload.reference.kind.apiVersion, kind: workload.reference.kind.rawValue, namespace: workload.reference.namespace,
            name: workload.reference.name, uid: workload.uid)
    }
}

/// Argo Rollouts restarts replace pods outside the rollout strategy.
enum ArgoRollouts {
    static func canaryWarning(_ rollout: WorkloadReference) -> String {
        "\(rollout): restarted through spec.restartAt, which replaces pods without the canary steps (no pauses, analysis or traffic shifting)"
    }
}

/// The notice for an owner whose restart another field manager reverted.
enum RestartReverted {
    static func notice(_ owner: EventSubject, _ reversion: RestartReversion, pods: [PodKey], evidence: [Finding]) -> PlannedNotice {
        PlannedNotice(
            subject: owner, reason: "RestartReverted", action: "Evict",
            lead: "restart-reverted: \(reversion.description); evicting the stale pods one at a time instead, honouring PodDisruptionBudgets",
            type: "Warning", pods: pods, evidence: evidence)
    }
}
