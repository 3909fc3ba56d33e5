import Foundation
import KateContract
import KateKube
import KateRegistry

/// Turns listed pods into per-container targets: which tag each container tracks, which digest its
/// spec pins, and which digest the node reports. Containers are matched to their status by NAME
/// (status arrays are not guaranteed to follow spec order).
public struct PodCollector: Sendable {
    public let scope: CollectionScope

    public init(scope: CollectionScope) {
        self.scope = scope
    }

    public struct Collection: Sendable {
        public var targets: [ContainerTarget] = []
        public var skipped: [SkippedPod] = []
        public var podCount = 0
        /// Parses and strings seen so far, shared by the pages of one sweep.
        var memo = ParseMemo()

        public init() {}
    }

    public func collect(_ pods: [Pod]) -> Collection {
        var collection = Collection()
        collect(pods, into: &collection)
        return collection
    }

    /// Adds one page of pods: a sweep collects page by page, so only one page of decoded pods exists at a time.
    public func collect(_ pods: [Pod], into collection: inout Collection) {
        for pod in pods {
            let key = PodKey(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "")
            if let reason = skipReason(pod) {
                collection.skipped.append(SkippedPod(pod: key, reason: reason))
                continue
            }
            collection.podCount += 1
            collection.targets.append(contentsOf: targets(of: pod, memo: &collection.memo))
        }
    }

    /// Why a pod is not swept, or nil when it is.
    func skipReason(_ pod: Pod) -> String? {
        let annotations = pod.metadata.annotations ?? [:]
        // An explicit --namespace wins over the default exclusions (`--namespace kube-system` means it).
        if scope.namespace == nil, scope.excludedNamespaces.contains(pod.metadata.namespace ?? "") { return "namespace excluded" }
        if pod.status?.phase != "Running" { return "phase \(pod.status?.phase ?? "unknown"), not Running" }
        if pod.metadata.deletionTimestamp != nil { return "terminating" }
        if annotations[SweepAnnotations.mirror] != nil { return "mirror (static) pod; the kubelet owns it" }
        if let optOut = OptOut.podReason(annotations: annotations, labels: pod.metadata.labels) { return "opted out (\(optOut))" }
        if annotations[KateAnnotations.originalImages] == nil, let operatorOwned = Self.operatorOwnedReason(pod) { return operatorOwned }
        return nil
    }

    /// The webhook leaves operator-owned pods unpinned unless opted in (and then annotates them): their operator, not
    /// a rollout, decides their image, so they are reported as skipped with the webhook's reason.
    static func operatorOwnedReason(_ pod: Pod) -> String? {
        guard let references = pod.metadata.ownerReferences, !references.isEmpty else { return nil }
        return OperatorOwnership.operatorOwner(references.map {
            OperatorOwnership.Owner(apiVersion: $0.apiVersion, kind: $0.kind, name: $0.name, controller: $0.controller == true)
        }).map(OperatorOwnership.skipReason)
    }

    func targets(of pod: Pod) -> [ContainerTarget] {
        var memo = ParseMemo()
        return targets(of: pod, memo: &memo)
    }

    func targets(of pod: Pod, memo: inout ParseMemo) -> [ContainerTarget] {
        let identity = Self.identity(of: pod, memo: &memo)
        let originals = memo.originalImages(pod.metadata.annotations?[KateAnnotations.originalImages])
        var targets: [ContainerTarget] = []
        let statuses = Dictionary(pod.status?.containerStatuses?.map { ($0.name, $0) } ?? [], uniquingKeysWith: { first, _ in first })
        for container in pod.spec.containers {
            targets.append(target(container, role: .app, status: statuses[container.name], pod: identity, originals: originals, memo: &memo))
        }
        // Sidecars run for the pod's lifetime; finished one-shot init containers are history.
        let initStatuses = Dictionary(pod.status?.initContainerStatuses?.map { ($0.name, $0) } ?? [], uniquingKeysWith: { first, _ in first })
        for container in pod.spec.initContainers ?? [] where container.isSidecar {
            targets.append(target(container, role: .sidecar, status: initStatuses[container.name], pod: identity, originals: originals, memo: &memo))
        }
        return targets
    }

    private func target(
        _ container: Container, role: ContainerRole, status: ContainerStatus?, pod: PodIdentity, originals: [String: String], memo: inout ParseMemo
    ) -> ContainerTarget {
        let specImage = container.image ?? ""
        let tracking = memo.tracking(original: originals[container.name], spec: specImage)
        let running = status == nil
            ? ParseMemo.Running(image: .unknown(reason: "no status reported for container \(container.name)")) : memo.running(status?.imageID)
        return ContainerTarget(
            pod: pod, container: memo.intern(container.name), role: role, tracking: tracking, pinnedDigest: memo.pinnedDigest(specImage),
            running: running.image, runningRepository: running.canonicalRepository, pullPolicy: container.imagePullPolicy.map { memo.intern($0) })
    }

    /// The tag to follow: the webhook's record of what the user wrote, else the spec image.
    static func tracking(original: String?, spec: String) -> Tracking {
        let source = original ?? spec
        guard !source.isEmpty else { return .untrackable(reason: "container has no image") }
        let reference: ImageReference
        do {
            reference = try ImageReference.parse(source)
        } catch {
            return .untrackable(reason: "cannot parse image \"\(source)\": \(error)")
        }
        guard reference.tag != nil || reference.digest == nil else {
            return .untrackable(reason: "\(source) is pinned by digest only; no tag to track")
        }
        let display = source.firstIndex(of: "@").map { String(source[..<$0]) } ?? source
        return .tag(TrackedImage(display: display, canonicalName: reference.canonicalName, tag: reference.trackedTag))
    }

    static func identity(of pod: Pod, memo: inout ParseMemo) -> PodIdentity {
        let labels = pod.metadata.labels ?? [:]
        return PodIdentity(
            namespace: memo.intern(pod.metadata.namespace ?? ""), name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "",
            nodeName: pod.spec.nodeName.map { memo.intern($0) }, controller: pod.metadata.controller.map { memo.intern($0) },
            revision: (labels[SweepAnnotations.podTemplateHash] ?? labels[SweepAnnotations.controllerRevisionHash]).map { memo.intern($0) },
            serviceAccount: memo.intern(pod.spec.serviceAccountName ?? "default"),
            pullSecrets: memo.intern(pod.spec.imagePullSecrets?.map(\.name) ?? []), platformSelection: pod.spec.platformSelection)
    }
}
