import Foundation
import KateContract
import KateKube

/// The real cluster: `KubeClient` answers the sweeper's questions and makes its writes.
extension KubeClient: SweepCluster {
    public func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] {
        try await listPods(namespace: namespace, labelSelector: labelSelector, fieldSelector: nil, pageSize: 500)
    }

    public func forEachPodPage(namespace: String?, labelSelector: String?, _ page: (_ pods: [Pod], _ restarted: Bool) async throws -> Void) async throws {
        try await forEachPodPage(namespace: namespace, labelSelector: labelSelector, fieldSelector: nil, pageSize: 500, page)
    }

    public func optedOutNamespaces() async throws -> Set<String> {
        // All namespaces, judged by the shared rule: a label selector can only match the exact value `true`.
        Set(try await listNamespaces(labelSelector: nil).filter { OptOut.isOptedOut($0.metadata.labels) }.compactMap(\.metadata.name))
    }

    public func workload(_ reference: WorkloadReference) async throws -> WorkloadState? {
        let ns = reference.namespace, name = reference.name
        do {
            switch reference.kind {
            case .replicaSet: return WorkloadMapping.state(try await getReplicaSet(namespace: ns, name: name), reference)
            case .deployment:
                let read = try await getWithManagedFields(.deployment, namespace: ns, name: name, as: Deployment.self)
                return WorkloadMapping.withManagers(WorkloadMapping.state(read.object, reference), read.managedFields, kind: .deployment)
            case .statefulSet:
                let read = try await getWithManagedFields(.statefulSet, namespace: ns, name: name, as: StatefulSet.self)
                return WorkloadMapping.withManagers(WorkloadMapping.state(read.object, reference), read.managedFields, kind: .statefulSet)
            case .daemonSet:
                let read = try await getWithManagedFields(.daemonSet, namespace: ns, name: name, as: DaemonSet.self)
                return WorkloadMapping.withManagers(WorkloadMapping.state(read.object, reference), read.managedFields, kind: .daemonSet)
            case .rollout:
                let read = try await getRollout(namespace: ns, name: name)
                return WorkloadMapping.withManagers(WorkloadMapping.state(read.object, reference), read.managedFields, kind: .rollout)
            case .job:
                let job = try await getJob(namespace: ns, name: name)
                return WorkloadState(reference: reference, uid: job.metadata.uid ?? "", annotations: job.metadata.annotations ?? [:], controller: job.metadata.controller)
            case .cronJob:
                return WorkloadState(reference: reference)
            }
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
    }

    public func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws {
        try await restart(workload, at: at, annotations: [:])
    }

    public func rolloutRestart(_ workload: WorkloadReference, at: Date, recording record: String) async throws {
        try await restart(workload, at: at, annotations: [KateAnnotations.restart: record])
    }

    private func restart(_ workload: WorkloadReference, at: Date, annotations: [String: String]) async throws {
        if workload.kind == .rollout {
            try await restartRollout(namespace: workload.namespace, name: workload.name, at: at, annotating: annotations)
            return
        }
        guard let kind = KateKube.WorkloadKind(kind: workload.kind.rawValue), kind.supportsRolloutRestart else {
            throw SweepError.notRestartable(workload)
        }
        try await rolloutRestart(kind, namespace: workload.namespace, name: workload.name, at: at, annotating: annotations)
    }

    public func evict(namespace: String, pod: String) async throws -> EvictionOutcome {
        do {
            try await evict(namespace: namespace, name: pod)
            return .evicted
        } catch let error as KubeError where error.isTooManyRequests {
            return .blockedByDisruptionBudget(error.message)
        } catch let error as KubeError where error.isNotFound {
            return .alreadyGone
        }
    }

    public func recordEvent(_ event: SweepEvent) async throws {
        func reference(_ subject: EventSubject) -> ObjectReference {
            ObjectReference(apiVersion: subject.apiVersion, kind: subject.kind, namespace: subject.namespace, name: subject.name, uid: subject.uid)
        }
        let kubeEvent = KubeEvent(
            regarding: reference(event.regarding), reason: event.reason, note: event.note, type: event.type == "Warning" ? .warning : .normal,
            action: event.action, reportingInstance: WorkloadMapping.reportingInstance, eventTime: event.time, related: event.related.map(reference))
        if event.count > 1 {
            try await updateEventSeries(kubeEvent, count: event.count, lastObserved: Date())
        } else {
            try await createEvent(kubeEvent)
        }
    }
}

public enum SweepError: Error, Sendable, CustomStringConvertible {
    case notRestartable(WorkloadReference)

    public var description: String {
        switch self {
        case .notRestartable(let workload): "\(workload) cannot be rollout-restarted (only Deployment, StatefulSet, DaemonSet, Argo Rollout)"
        }
    }
}

/// Reduces each apps/v1 kind to the fields that decide a restart.
enum WorkloadMapping {
    /// The sweeper's pod name in a cluster (POD_NAME from the downward API, else HOSTNAME), the host elsewhere.
    static let reportingInstance: String = {
        let environment = ProcessInfo.processInfo.environment
        return environment["POD_NAME"] ?? environment["HOSTNAME"] ?? ProcessInfo.processInfo.hostName
    }()

    static func templateImages(_ template: PodTemplateSpec?) -> [String: String] {
        let containers = (template?.spec?.containers ?? []) + (template?.spec?.initContainers ?? [])
        var images: [String: String] = [:]
        for container in containers { images[container.name] = container.image ?? "" }
        return images
    }

    static func base(
        _ metadata: ObjectMeta, _ reference: WorkloadReference, template: PodTemplateSpec?, observed: Int64?, selector: LabelSelector?
    ) -> WorkloadState {
        var state = WorkloadState(
            reference: reference, uid: metadata.uid ?? "", annotations: metadata.annotations ?? [:], controller: metadata.controller,
            generation: metadata.generation, observedGeneration: observed, templateImages: templateImages(template),
            selector: selector?.matchLabels ?? [:])
        state.restartMarker = template?.metadata?.annotations?[RestartRecord.restartedAt]
        return state
    }

    static func state(_ rs: ReplicaSet, _ reference: WorkloadReference) -> WorkloadState {
        base(rs.metadata, reference, template: rs.spec?.template, observed: rs.status?.observedGeneration, selector: rs.spec?.selector)
    }

    static func state(_ deployment: Deployment, _ reference: WorkloadReference) -> WorkloadState {
        var state = base(deployment.metadata, reference, template: deployment.spec?.template, observed: deployment.status?.observedGeneration, selector: deployment.spec?.selector)
        state.paused = deployment.isPaused
        if let status = deployment.status {
            // Old pods still around (status.replicas > updated) also mean the rollout is not finished.
            state.replicas = max(deployment.spec?.replicas ?? 1, status.replicas ?? 0)
            state.updatedReplicas = status.updatedReplicas ?? 0
        }
        return state
    }

    static func state(_ sts: StatefulSet, _ reference: WorkloadReference) -> WorkloadState {
        var state = base(sts.metadata, reference, template: sts.spec?.template, observed: sts.status?.observedGeneration, selector: sts.spec?.selector)
        state.updateStrategy = sts.spec?.updateStrategy?.type
        state.currentRevision = sts.status?.currentRevision
        state.updateRevision = sts.status?.updateRevision
        if let status = sts.status {
            state.replicas = sts.spec?.replicas ?? 1
            state.updatedReplicas = status.updatedReplicas ?? 0
        }
        return state
    }

    static func state(_ rollout: Rollout, _ reference: WorkloadReference) -> WorkloadState {
        var state = base(
            rollout.metadata, reference, template: rollout.spec?.template, observed: rollout.status?.observedGeneration?.value, selector: rollout.spec?.selector)
        state.paused = rollout.isPaused
        state.restartMarker = rollout.spec?.restartAt
        if let status = rollout.status {
            state.replicas = max(rollout.spec?.replicas ?? 1, status.replicas ?? 0)
            state.updatedReplicas = status.updatedReplicas ?? 0
        }
        return state
    }

    /// The restart marker's field path, and the part of the object whose owner reconciles it.
    static func markerPaths(_ kind: OwnerKind) -> (marker: [String], template: [String]) {
        if kind == .rollout { return (["f:spec", "f:restartAt"], ["f:spec"]) }
        return (["f:spec", "f:template", "f:metadata", "f:annotations", "f:" + RestartRecord.restartedAt], ["f:spec", "f:template"])
    }

    static func withManagers(_ state: WorkloadState, _ entries: [ManagedFieldsEntry], kind: OwnerKind) -> WorkloadState {
        var state = state
        let paths = markerPaths(kind)
        state.fieldManagers = entries.compactMap { entry in
            guard let manager = entry.manager, entry.subresource == nil || entry.subresource == "" else { return nil }
            return FieldManager(
                manager: manager, operation: entry.operation ?? "", time: entry.time, ownsMarker: entry.owns(paths.marker), ownsTemplate: entry.owns(paths.template),
                ownsRecord: entry.owns(["f:metadata", "f:annotations", "f:" + KateAnnotations.restart]))
        }
        return state
    }

    static func state(_ ds: DaemonSet, _ reference: WorkloadReference) -> WorkloadState {
        var state = base(ds.metadata, reference, template: ds.spec?.template, observed: ds.status?.observedGeneration, selector: ds.spec?.selector)
        state.updateStrategy = ds.spec?.updateStrategy?.type
        if let status = ds.status {
            state.replicas = status.desiredNumberScheduled ?? 0
            state.updatedReplicas = status.updatedNumberScheduled ?? 0
        }
        return state
    }
}
