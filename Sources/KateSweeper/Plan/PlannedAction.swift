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

    public init(
        operation: Operation, subject: EventSubject, pods: [PodKey], evidence: [Finding], pacing: EvictionPacing? = nil,
        relatedPod: EventSubject? = nil
    ) {
        self.operation = operation
        self.subject = subject
        self.pods = pods
        self.evidence = evidence
        self.pacing = pacing
        self.relatedPod = relatedPod
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

    public init(actions: [PlannedAction] = [], held: [PodKey: String] = [:]) {
        self.actions = actions
        self.held = held
    }
}
