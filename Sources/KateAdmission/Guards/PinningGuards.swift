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
        /// Admit unchanged. `tripped`: the signature, when this review tripped the loop breaker.
        case skip(SkipReason, note: String, tripped: MutationLoopBreaker.Signature?)
    }

    /// What `settle` needs to count a pinned CREATE.
    public struct Ticket: Sendable {
        /// Signature 1: the pod's identity (nil for a generated name).
        var identity: MutationLoopBreaker.Identity?
        /// Signature 2: the controller (nil for a bare pod).
        var owner: MutationLoopBreaker.OwnerKey?
    }

    private let policy: AdmissionPolicy
    private let namespaces: (any NamespaceOptOutChecking)?
    public let breaker: MutationLoopBreaker?
    private let events: (any LoopEventRecording)?
    private let reportingInstance: String
    /// The owners' replica counts for the breaker's second signature; nil: only the first applies.
    private let replicas: OwnerReplicas?

    public init(
        policy: AdmissionPolicy, namespaces: (any NamespaceOptOutChecking)?, breaker: MutationLoopBreaker?,
        events: (any LoopEventRecording)?, reportingInstance: String, replicas: OwnerReplicas? = nil
    ) {
        self.policy = policy
        self.replicas = replicas
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
            if !optedIn { return .skip(.operatorOwned, note: OperatorOwnership.skipReason(owner), tripped: nil) }
        }

        guard let breaker, request.operation == "CREATE", request.subResource == nil else { return .pin(nil) }
        let identity = Self.identity(request, pod: pod, namespace: namespace)
        let ownerKey = Self.ownerKey(pod, namespace: namespace, identity: identity)
        guard let ownerKey else { return .pin(nil) }
        let decision = breaker.check(identity, owner: ownerKey, counts: !request.dryRun)
        guard case .proceed(let identity) = decision else {
            return await outcome(decision, pod: pod, namespace: namespace, breaker: breaker, deadline: deadline, logger: logger) ?? .pin(nil)
        }
        // Signature 2 counts controllers only, and real CREATEs only.
        let controller = request.dryRun ? nil : Self.managingOwner(pod)
        let rateKey = controller == nil ? nil : ownerKey
        // One lookup for every owner below the floor; the replica count is asked for (cached) only above it.
        if let controller, let rateKey, let replicas, breaker.ownerNeedsReplicas(rateKey),
            let wanted = await replicas.replicas(of: controller, namespace: namespace, deadline: deadline, logger: logger) {
            let subject = identity ?? MutationLoopBreaker.Identity(namespace: namespace, name: pod.metadata.generateName ?? "")
            let rate = breaker.checkOwnerRate(rateKey, pod: subject, replicas: wanted)
            if let skip = await outcome(rate, pod: pod, namespace: namespace, breaker: breaker, deadline: deadline, logger: logger) { return skip }
        }
        return identity == nil && rateKey == nil ? .pin(nil) : .pin(Ticket(identity: identity, owner: rateKey))
    }

    /// A cool-off or a trip as the review's answer (nil: pin). A trip logs once and records its one Event.
    private func outcome(
        _ decision: MutationLoopBreaker.Decision, pod: Pod, namespace: String, breaker: MutationLoopBreaker, deadline: ContinuousClock.Instant,
        logger: Logger
    ) async -> Screening? {
        switch decision {
        case .proceed:
            return nil
        case .coolingOff(let trip):
            let cause = trip.signature == .samePod ? "pod \(trip.pod.name) looped" : "its pods were recreated faster than its replicas explain"
            return .skip(.loopBreaker, note: "mutation-loop breaker open since \(cause); " + Self.owner(pod), tripped: nil)
        case .tripped(let trip):
            let note = Self.note(trip, pod: pod, coolOff: breaker.settings.coolOff, settings: breaker.settings)
            logger.warning("mutation-loop breaker tripped: \(note)", metadata: ["namespace": "\(namespace)", "pod": "\(trip.pod.name)", "signature": "\(trip.signature.label)"])
            await emitEvent(trip, pod: pod, note: note, deadline: deadline, logger: logger)
            return .skip(.loopBreaker, note: note, tripped: trip.signature)
        }
    }

    /// Counts a CREATE kate patched (a dry run never reaches here with a ticket).
    public func settle(_ ticket: Ticket?, _ report: PinReport) {
        guard let ticket, let breaker, report.outcome == .pinned else { return }
        if let identity = ticket.identity { breaker.recordPinned(identity) }
        if let owner = ticket.owner { breaker.recordOwnerPinned(owner) }
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
    /// Signature 2: "kate stopped pinning: 17 pods of Cluster pg-main created in 2m for 3 replicas (more than 2 × 3 + 10); …"
    static func note(_ trip: MutationLoopBreaker.Trip, pod: Pod, coolOff: Duration, settings: MutationLoopBreaker.Settings = .init()) -> String {
        let subject = managingOwner(pod).map { "pods of \($0.kind) \($0.name)" } ?? "pod \(trip.pod.name)"
        let span = trip.span < .seconds(1) ? "<1s" : GoDuration.humanize(trip.span)
        let evidence: String
        switch trip.signature {
        case .samePod:
            evidence = "pod \(trip.pod.name) created \(trip.creates) times in \(span) after being pinned"
        case .ownerRate(let replicas):
            let owner = managingOwner(pod).map { "\($0.kind) \($0.name)" } ?? "its owner"
            evidence = "\(trip.creates) pods of \(owner) created in \(span) for \(replicas) replica\(replicas == 1 ? "" : "s") "
                + "(more than \(settings.ownerFactor) × \(replicas) + \(settings.ownerFloor), --loop-breaker-owner-factor/-floor)"
        }
        return "kate stopped pinning: \(evidence); "
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
        // A generated name (signature 2) names no pod yet: the Event is about the owner alone.
        let named = trip.signature == .samePod || !(pod.metadata.name ?? "").isEmpty
        let regarding = owner.map {
            ObjectReference(apiVersion: $0.apiVersion, kind: $0.kind, namespace: trip.pod.namespace, name: $0.name, uid: $0.uid)
        } ?? podReference
        let event = KubeEvent(
            regarding: regarding, reason: "MutationLoop", note: note, type: .warning, action: "StopPinning",
            reportingController: "kate.dev/webhook", reportingInstance: reportingInstance, related: owner == nil || !named ? nil : podReference)
        do {
            let written: Void? = try await withDeadline(deadline) { try await events.recordLoopEvent(event) }
            if written == nil { logger.warning("mutation-loop breaker: the Event on \(regarding.kind ?? "") \(regarding.name ?? "") timed out") }
        } catch {
            logger.warning("mutation-loop breaker: cannot record the Event on \(regarding.kind ?? "") \(regarding.name ?? ""): \(error)")
        }
    }
}
