import KateKube

/// A pod, named the way the report and the API need it.
public struct PodKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let namespace: String
    public let name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace)/\(name)" }

    public static func < (lhs: PodKey, rhs: PodKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}

/// One write the sweep intends to make.
public struct PlannedAction: Sendable, Equatable {
    public enum Operation: Sendable, Hashable {
        case rolloutRestart(WorkloadReference)
        case evict(PodKey)
        case delete(PodKey, uid: String)
    }

    public var operation: Operation
    /// What the Event is about (the workload restarted, or the pod evicted/deleted).
    public var subject: EventSubject
    /// The stale pods this action addresses (their ACTION column shows its outcome).
    public var pods: [PodKey]
    /// The stale containers behind it, for the Event note.
    public var evidence: [Finding]
    /// An eviction from a workload whose other stale pods wait for this one's replacement.
    public var pacing: EvictionPacing?
    /// The pod an eviction removes, when `subject` is its workload.
    public var relatedPod: EventSubject?
    /// A restart: the workload's generation before it, for kate's `RestartRecord`.
    public var generationBefore: Int64?
    /// A restart: the paced evictions of its pods that replace it if another field manager reverts it
    /// (`--wait` checks within the sweep; the next sweep plans them itself).
    public var fallback: [PlannedAction]

    public init(
        operation: Operation, subject: EventSubject, pods: [PodKey], evidence: [Finding], pacing: EvictionPacing? = nil,
        relatedPod: EventSubject? = nil, generationBefore: Int64? = nil, fallback: [PlannedAction] = []
    ) {
        self.operation = operation
        self.subject = subject
        self.pods = pods
        self.evidence = evidence
        self.pacing = pacing
        self.relatedPod = relatedPod
        self.generationBefore = generationBefore
        self.fallback = fallback
    }

    /// "restart Deployment/web", "evict pod default/web-0".
    public var summary: String {
        switch operation {
        case .rolloutRestart(let workload): "restart \(workload.kind.rawValue)/\(workload.name)"
        case .evict(let pod): "evict pod \(pod)"
        case .delete(let pod, _): "delete pod \(pod)"
        }
    }
}

/// The workload a paced eviction belongs to: where its replacement pods show up and how they are
/// recognised (their controller reference carries the workload's UID).
public struct EvictionPacing: Sendable, Hashable {
    public var workload: WorkloadReference
    public var uid: String
    /// `spec.selector.matchLabels`, as a label selector for the pod list (nil: the whole namespace).
    public var labelSelector: String?

    public init(workload: WorkloadReference, uid: String, selector: [String: String]) {
        self.workload = workload
        self.uid = uid
        labelSelector = selector.isEmpty ? nil : selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Whether `pod` is one of the workload's own (by controller UID; by kind and name without one).
    func owns(_ pod: Pod) -> Bool {
        guard let controller = pod.metadata.controller else { return false }
        if !uid.isEmpty, !controller.uid.isEmpty { return controller.uid == uid }
        return controller.kind == workload.kind.rawValue && controller.name == workload.name
    }
}

/// The outcome of planning: writes to attempt, and for stale pods with no write, why not.
public struct SweepPlan: Sendable, Equatable {
    public var actions: [PlannedAction]
    /// Stale pods that get no action, with the reason shown in the ACTION column.
    public var held: [PodKey: String]
    /// Events that stand on their own (a reverted restart, a refusal, a warning), recorded before the actions.
    public var notices: [PlannedNotice]
    /// Pods whose owner's restart another field manager reverted: their verdict becomes `restart-reverted`.
    public var reverted: [PodKey: RestartReversion]
    /// Report warnings (an Argo Rollout restart skips the canary steps).
    public var warnings: [String]

    public init(
        actions: [PlannedAction] = [], held: [PodKey: String] = [:], notices: [PlannedNotice] = [], reverted: [PodKey: RestartReversion] = [:],
        warnings: [String] = []
    ) {
        self.actions = actions
        self.held = held
        self.notices = notices
        self.reverted = reverted
        self.warnings = warnings
    }
}

/// An Event the plan asks for, about `subject`, whose note lists `evidence` (the stale containers).
public struct PlannedNotice: Sendable, Equatable {
    public var subject: EventSubject
    public var reason: String
    public var action: String
    /// The sentence before the evidence: "held: Deployment default/web is paused".
    public var lead: String
    public var type: String
    public var pods: [PodKey]
    public var evidence: [Finding]

    public init(subject: EventSubject, reason: String, action: String, lead: String, type: String = "Normal", pods: [PodKey] = [], evidence: [Finding] = []) {
        self.subject = subject
        self.reason = reason
        self.action = action
        self.lead = lead
        self.type = type
        self.pods = pods
        self.evidence = evidence
    }
}
