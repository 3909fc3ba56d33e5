import Foundation
import KateContract
import KateKube
import KateRegistry

/// A cluster narrowed to the pods that use one tag: what a push-triggered sweep looks at. The
/// `Sweeper` runs on it unchanged (collect, resolve, judge, plan, act are its own); only the pod
/// listings are filtered, so only the owners of pods running `reference`'s tag can be acted on.
/// Every other read and every write goes to `base` as it is.
public struct TagScopedCluster: SweepCluster {
    public let base: any SweepCluster
    /// The pushed tag, in kate's canonical form (`canonicalName` and `trackedTag` are compared).
    public let reference: ImageReference

    public init(base: any SweepCluster, reference: ImageReference) {
        self.base = base
        self.reference = reference
    }

    /// True when a container, init container or image volume of `pod` names the tag (pinned or not:
    /// the webhook keeps the tag in front of `@sha256:…`).
    public func uses(_ pod: Pod) -> Bool {
        let images = (pod.spec.containers + (pod.spec.initContainers ?? []) + (pod.spec.ephemeralContainers ?? [])).compactMap(\.image)
            + (pod.spec.volumes ?? []).compactMap { $0.image?.reference }
        return images.contains { image in
            guard let parsed = try? ImageReference.parse(image), parsed.tag != nil || parsed.digest == nil else { return false }
            return parsed.canonicalName == reference.canonicalName && parsed.trackedTag == reference.trackedTag
        }
    }

    public func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] {
        try await base.listPods(namespace: namespace, labelSelector: labelSelector).filter(uses)
    }

    public func forEachPodPage(namespace: String?, labelSelector: String?, _ page: (_ pods: [Pod], _ restarted: Bool) async throws -> Void) async throws {
        try await base.forEachPodPage(namespace: namespace, labelSelector: labelSelector) { pods, restarted in
            try await page(pods.filter(uses), restarted)
        }
    }

    public func optedOutNamespaces() async throws -> Set<String> { try await base.optedOutNamespaces() }
    public func workload(_ reference: WorkloadReference) async throws -> WorkloadState? { try await base.workload(reference) }
    public func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? {
        try await base.pullSecretConfig(namespace: namespace, name: name)
    }
    public func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
        try await base.serviceAccountPullSecrets(namespace: namespace, name: name)
    }
    public func rolloutRestart(_ workload: WorkloadReference, at date: Date) async throws { try await base.rolloutRestart(workload, at: date) }
    public func rolloutRestart(_ workload: WorkloadReference, at date: Date, recording record: String) async throws {
        try await base.rolloutRestart(workload, at: date, recording: record)
    }
    public func evict(namespace: String, pod: String) async throws -> EvictionOutcome { try await base.evict(namespace: namespace, pod: pod) }
    public func deletePod(namespace: String, name: String, uid: String) async throws { try await base.deletePod(namespace: namespace, name: name, uid: uid) }
    public func recordEvent(_ event: SweepEvent) async throws { try await base.recordEvent(event) }
}
