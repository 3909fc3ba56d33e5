import Foundation
import KateContract
import KateKube
import KateNet
import Logging

/// The guards that run before kate pins a pod, so pinning cannot start or feed a loop:
/// - operator scope: pods whose controller is not a built-in kind (ReplicaSet, StatefulSet, DaemonSet, Job) are left
///   alone unless their kind (`--pin-operator-owned`) or their namespace (`kate.dev/pin-operator-owned=true`) opts in;
/// - the mutation-loop breaker (`MutationLoopBreaker`).
///
/// A guard's skip adds no admission warning (the user did nothing wrong): the review's debug line, the
/// `kate_admission_skipped_total{reason}` metric, and for a trip one warning line and one Event on the owner.
/// Mirror pods and kate's own pods are left alone earlier, by `AdmissionPolicy.podSkipReason`.
public final class PinningGuards: Sendable {
    /// Why a guard left a pod unpinned: the `reason` label of `kate_admission_skipped_total`.
    public enum SkipReason: String, Sendable, CaseIterable {
        case operatorOwned = "operator-owned"
        case loopBreaker = "loop-breaker"
    }

    public enum Screening: Sendable {
        /// Pin; afterwards hand the report to `settle` with this ticket.
        case pin(Ticket?)
        /// Admit unchanged. `tripped`: this review tripped the loop breaker.
        case skip(SkipReason, note: String, tripped: Bool)
    }

    /// What `settle` needs to count a pinned CREATE.
    public struct Ticket: Sendable {
        var identity: MutationLoopBreaker.Identity
    }

    private let policy: AdmissionPolicy
    private let namespaces: (any NamespaceOptOutChecking)?
    public let breaker: MutationLoopBreaker?
    private let events: (any LoopEventRecording)?
    private let reportingInstance: String

    public init(
        policy: AdmissionPolicy, namespaces: (any NamespaceOptOutChecking)?, breaker: MutationLoopBreaker?,
        events: (any LoopEventRecording)?, reportingInstance: String
    ) {
        self.policy = policy
        self.namespaces = namespaces
        self.breaker = breaker
        self.events = events
        self.reportingInstance = reportingInstance
    }

    public func screen(_ request: AdmissionRequest, deadline: ContinuousClock.Instant, logger: Logger) async -> Screening {
        // Not a pod, unreadable, or skipped by policy: the pinner says why.
        guard request.isPod, let pod = request.object else { return .pin(nil) }
        let namespace = request.namespace ?? pod.metadata.namespace ?? ""
        if policy.podSkipReason(namespace: namespace, pod: pod) != nil { return .pin(nil) }

        if let owner = policy.unpinnedOperator(of: pod) {
            let optedIn = await namespaces?.pinsOperatorOwned(namespace: namespace, logger: logger) ?? false
            if !optedIn { return .skip(.operatorOwned, note: OperatorOwnership.skipReason(owner), tripped: false) }
        }

        guard let breaker, request.operation == "CREATE", request.subResource == nil else { return .pin(nil) }
        let identity = Self.identity(request, pod: pod, namespace: namespace)
        let ownerKey = Self.ownerKey(pod, namespace: namespace, identity: identity)
        guard let ownerKey else { return .pin(nil) }
        switch breaker.check(identity, owner: ownerKey, counts: !request.dryRun) {
        case .proceed(let identity):
            return .pin(identity.map(Ticket.init))
        case .coolingOff(let trip):
            return .skip(.loopBreaker, note: "mutation-loop breaker open since pod \(trip.pod.name) looped; " + Self.owner(pod), tripped: false)
        case .tripped(let trip):
            let note = Self.note(trip, pod: pod, coolOff: breaker.settings.coolOff)
            logger.warning("mutation-loop breaker tripped: \(note)", metadata: ["namespace": "\(namespace)", "pod": "\(trip.pod.name)"])
            await emitEvent(trip, pod: pod, note: note, deadline: deadline, logger: logger)
            return .skip(.loopBreaker, note: note, tripped: true)
        }
    }

    /// Counts a CREATE kate patched (a dry run never reaches here with a ticket).
    public func settle(_ ticket: Ticket?, _ report: PinReport) {
        guard let ticket, let breaker, report.outcome == .pinned else { return }
        breaker.recordPinned(ticket.identity)
    }

    /// namespace + name; nil for a pod that arrives with only `generateName` (a ReplicaSet's, a Job's).
    static func identity(_ request: AdmissionRequest, pod: Pod, namespace: String) -> MutationLoopBreaker.Identity? {
        let name = request.name.flatMap { $0.isEmpty ? nil : $0 } ?? pod.metadata.name.flatMap { $0.isEmpty ? nil : $0 }
        return name.map { MutationLoopBreaker.Identity(namespace: namespace, name: $0) }
    }

    /// The controller (by UID) whose pods stop being pinned; a bare pod is its own owner.
    static func ownerKey(_ pod: Pod, namespace: String, identity: MutationLoopBreaker.Identity?) -> MutationLoopBreaker.OwnerKey? {
        if let owner = Self.managingOwner(pod) { return .init(namespace: namespace, id: owner.uid.isEmpty ? owner.kind + "/" + owner.name : owner.uid) }
        return identity.map { .init(namespace: namespace, id: "pod/" + $0.name) }
    }

    /// The controller reference, else the first owner reference (an operator that leaves `controller` unset).
    static func managingOwner(_ pod: Pod) -> OwnerReference? {
        pod.metadata.controller ?? pod.metadata.ownerReferences?.first
    }

    private static func owner(_ pod: Pod) -> String {
        managingOwner(pod).map { "pods of \($0.kind) \($0.name) are not pinned until it closes" } ?? "this pod is not pinned until it closes"
    }

    /// "kate stopped pinning: pod db-1 created 3 times in 4m after being pinned; pods of StatefulSet db …"
    static func note(_ trip: MutationLoopBreaker.Trip, pod: Pod, coolOff: Duration) -> String {
        let subject = managingOwner(pod).map { "pods of \($0.kind) \($0.name)" } ?? "pod \(trip.pod.name)"
        let span = trip.span < .seconds(1) ? "<1s" : GoDuration.humanize(trip.span)
        return "kate stopped pinning: pod \(trip.pod.name) created \(trip.creates) times in \(span) after being pinned; "
            + "\(subject) are admitted unpinned for \(GoDuration.humanize(coolOff)) (--loop-breaker-cool-off). "
            + "Likely a controller that recreates pods whose image differs from its spec: exempt it or pin its image by digest."
    }

    private func emitEvent(_ trip: MutationLoopBreaker.Trip, pod: Pod, note: String, deadline: ContinuousClock.Instant, logger: Logger) async {
        guard let events else {
            logger.notice("mutation-loop breaker: no Kubernetes API access (--pull-secrets off), so no Event was recorded")
            return
        }
        let owner = Self.managingOwner(pod)
        let podReference = ObjectReference(apiVersion: "v1", kind: "Pod", namespace: trip.pod.namespace, name: trip.pod.name)
        let regarding = owner.map {
            ObjectReference(apiVersion: $0.apiVersion, kind: $0.kind, namespace: trip.pod.namespace, name: $0.name, uid: $0.uid)
        } ?? podReference
        let event = KubeEvent(
            regarding: regarding, reason: "MutationLoop", note: note, type: .warning, action: "StopPinning",
            reportingController: "kate.dev/webhook", reportingInstance: reportingInstance, related: owner == nil ? nil : podReference)
        do {
            let written: Void? = try await withDeadline(deadline) { try await events.recordLoopEvent(event) }
            if written == nil { logger.warning("mutation-loop breaker: the Event on \(regarding.kind ?? "") \(regarding.name ?? "") timed out") }
        } catch {
            logger.warning("mutation-loop breaker: cannot record the Event on \(regarding.kind ?? "") \(regarding.name ?? ""): \(error)")
        }
    }
}
