import Foundation
import KateContract
import KateKube

/// The Kubernetes reads the sweeper needs. `KubeClient` conforms (KubeClient+SweepCluster.swift;
/// its pull-secret reads are KateContract's, shared with the webhook); tests substitute an
/// in-memory cluster.
public protocol ClusterReading: PullSecretReading {
    func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod]
    /// The same pods page by page (`restarted`: a list restarted after 410; drop earlier pages).
    func forEachPodPage(namespace: String?, labelSelector: String?, _ page: (_ pods: [Pod], _ restarted: Bool) async throws -> Void) async throws
    /// Namespaces labelled `kate.dev/skip=true`.
    func optedOutNamespaces() async throws -> Set<String>
    /// The workload named by an owner reference; nil when it no longer exists.
    func workload(_ reference: WorkloadReference) async throws -> WorkloadState?
}

extension ClusterReading {
    /// One page holding every pod, for clusters that do not page (test doubles).
    public func forEachPodPage(
        namespace: String?, labelSelector: String?, _ page: (_ pods: [Pod], _ restarted: Bool) async throws -> Void
    ) async throws {
        try await page(try await listPods(namespace: namespace, labelSelector: labelSelector), false)
    }
}

/// The writes the sweeper makes. Each is one API call.
public protocol ClusterWriting: Sendable {
    func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws
    /// The same restart with kate's `RestartRecord` (`KateAnnotations.restart`) on the workload, in the same patch.
    func rolloutRestart(_ workload: WorkloadReference, at: Date, recording record: String) async throws
    func evict(namespace: String, pod: String) async throws -> EvictionOutcome
    func deletePod(namespace: String, name: String, uid: String) async throws
    func recordEvent(_ event: SweepEvent) async throws
}

public typealias SweepCluster = ClusterReading & ClusterWriting

extension ClusterWriting {
    /// Clusters that keep no record (test doubles) restart plainly.
    public func rolloutRestart(_ workload: WorkloadReference, at: Date, recording record: String) async throws {
        try await rolloutRestart(workload, at: at)
    }
}

public enum OwnerKind: String, Sendable, Codable, Hashable {
    case replicaSet = "ReplicaSet"
    case deployment = "Deployment"
    case statefulSet = "StatefulSet"
    case daemonSet = "DaemonSet"
    case job = "Job"
    case cronJob = "CronJob"
    /// Argo Rollouts (`argoproj.io/v1alpha1`): restarted through `spec.restartAt`.
    case rollout = "Rollout"

    /// The API group an owner reference of this kind must name.
    public var group: String {
        switch self {
        case .replicaSet, .deployment, .statefulSet, .daemonSet: "apps"
        case .job, .cronJob: "batch"
        case .rollout: "argoproj.io"
        }
    }

    /// `apiVersion` of the kind, for Event references.
    public var apiVersion: String {
        switch self {
        case .replicaSet, .deployment, .statefulSet, .daemonSet: "apps/v1"
        case .job, .cronJob: "batch/v1"
        case .rollout: "argoproj.io/v1alpha1"
        }
    }
}

public struct WorkloadReference: Sendable, Hashable, CustomStringConvertible {
    public let kind: OwnerKind
    public let namespace: String
    public let name: String

    public init(kind: OwnerKind, namespace: String, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(kind.rawValue) \(namespace)/\(name)" }
}

/// The fields of a workload that decide whether and how it can be restarted.
public struct WorkloadState: Sendable, Hashable {
    public var reference: WorkloadReference
    public var uid: String
    public var annotations: [String: String]
    /// Its own controller (ReplicaSet → Deployment, Job → CronJob).
    public var controller: OwnerReference?
    public var paused: Bool
    public var generation: Int64?
    public var observedGeneration: Int64?
    /// Desired pods and pods already on the newest template (DaemonSet: desired/updated scheduled).
    public var replicas: Int?
    public var updatedReplicas: Int?
    /// StatefulSet revisions; a rollout is in progress while they differ.
    public var currentRevision: String?
    public var updateRevision: String?
    /// `RollingUpdate` or `OnDelete` (StatefulSet, DaemonSet).
    public var updateStrategy: String?
    /// Container name → image in `spec.template` (app, init and sidecar containers).
    public var templateImages: [String: String]
    /// `spec.selector.matchLabels`: narrows the pod list a paced eviction polls.
    public var selector: [String: String]
    /// What a restart writes and a revert takes away: the pod template's `kubectl.kubernetes.io/restartedAt`
    /// (a Rollout's `spec.restartAt`).
    public var restartMarker: String?
    /// Who last wrote the workload (`metadata.managedFields`), as far as naming a reverter needs.
    public var fieldManagers: [FieldManager] = []

    public init(
        reference: WorkloadReference, uid: String = "", annotations: [String: String] = [:], controller: OwnerReference? = nil,
        paused: Bool = false, generation: Int64? = nil, observedGeneration: Int64? = nil, replicas: Int? = nil,
        updatedReplicas: Int? = nil, currentRevision: String? = nil, updateRevision: String? = nil,
        updateStrategy: String? = nil, templateImages: [String: String] = [:], selector: [String: String] = [:]
    ) {
        self.reference = reference
        self.uid = uid
        self.annotations = annotations
        self.controller = controller
        self.paused = paused
        self.generation = generation
        self.observedGeneration = observedGeneration
        self.replicas = replicas
        self.updatedReplicas = updatedReplicas
        self.currentRevision = currentRevision
        self.updateRevision = updateRevision
        self.updateStrategy = updateStrategy
        self.templateImages = templateImages
        self.selector = selector
    }

    /// Why a rollout is still running, or nil when the controller has caught up.
    public var rolloutInProgress: String? {
        if let generation, let observedGeneration, observedGeneration < generation {
            return "controller has not observed generation \(generation) yet (observed \(observedGeneration))"
        }
        if let replicas, let updatedReplicas, updatedReplicas < replicas {
            return "\(updatedReplicas) of \(replicas) pods updated"
        }
        if let currentRevision, let updateRevision, currentRevision != updateRevision {
            return "revision \(updateRevision) still replacing \(currentRevision)"
        }
        return nil
    }

    public var isOptedOut: Bool { OptOut.isOptedOut(annotations) }
}

/// One `managedFields` entry reduced to what tells who reverted a restart.
public struct FieldManager: Sendable, Hashable {
    public var manager: String
    /// `Update` or `Apply`.
    public var operation: String
    /// RFC 3339: when its fields last changed.
    public var time: String?
    /// It owns the restart marker itself (it wrote a value of its own there).
    public var ownsMarker: Bool
    /// It owns fields of the pod template (a Rollout: of `spec`): the one that reconciles the template.
    public var ownsTemplate: Bool
    /// It owns kate's restart record: kate's own entry.
    public var ownsRecord: Bool

    public init(manager: String, operation: String, time: String? = nil, ownsMarker: Bool = false, ownsTemplate: Bool = false, ownsRecord: Bool = false) {
        self.manager = manager
        self.operation = operation
        self.time = time
        self.ownsMarker = ownsMarker
        self.ownsTemplate = ownsTemplate
        self.ownsRecord = ownsRecord
    }
}

public enum EvictionOutcome: Sendable, Equatable {
    case evicted
    /// 429: a PodDisruptionBudget does not allow it now.
    case blockedByDisruptionBudget(String)
    /// 404: the pod is already gone.
    case alreadyGone
}

/// An `events.k8s.io/v1` Event about a workload or pod the sweeper acted on.
public struct SweepEvent: Sendable, Equatable {
    public var regarding: EventSubject
    /// The pod an eviction removed from `regarding`'s workload.
    public var related: EventSubject?
    public var reason: String
    public var action: String
    public var note: String
    public var type: String
    /// When it first happened (names the Event: a repeat addresses the same one).
    public var time: Date
    /// Occurrences so far in this sweep; above 1 the Event already exists and its series is updated.
    public var count: Int

    public init(
        regarding: EventSubject, related: EventSubject? = nil, reason: String, action: String, note: String, type: String = "Normal",
        time: Date = Date(), count: Int = 1
    ) {
        self.regarding = regarding
        self.related = related
        self.reason = reason
        self.action = action
        self.note = note
        self.type = type
        self.time = time
        self.count = count
    }
}

public struct EventSubject: Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var namespace: String
    public var name: String
    public var uid: String

    public init(apiVersion: String, kind: String, namespace: String, name: String, uid: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}

/// Kubernetes' own labels and annotations the sweeper reads (kate's own keys are in KateContract).
public enum SweepAnnotations {
    public static let mirror = "kubernetes.io/config.mirror"
    public static let podTemplateHash = "pod-template-hash"
    public static let controllerRevisionHash = "controller-revision-hash"
}
