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
    func evict(namespace: String, pod: String) async throws -> EvictionOutcome
    func deletePod(namespace: String, name: String, uid: String) async throws
    func recordEvent(_ event: SweepEvent) async throws
}

public typealias SweepCluster = ClusterReading & ClusterWriting

public enum OwnerKind: String, Sendable, Codable, Hashable {
    case replicaSet = "ReplicaSet"
    case deployment = "Deployment"
    case statefulSet = "StatefulSet"
    case daemonSet = "DaemonSet"
    case job = "Job"
    case cronJob = "CronJob"
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

    public init(regarding: EventSubject, related: EventSubject? = nil, reason: String, action: String, note: String, type: String = "Normal") {
        self.regarding = regarding
        self.related = related
        self.reason = reason
        self.action = action
        self.note = note
        self.type = type
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
