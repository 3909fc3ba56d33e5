import Foundation
import KateKube
import Testing
@testable import KateSweeper

@Suite("planning actions per owner")
struct ActionPlannerTests {
    static let image = TrackedImage(display: "app:1", canonicalName: "registry.local/app", tag: "1")

    static func finding(pod: String, owner: OwnerReference?, verdict: Verdict = .tagMoved, revision: String? = "abc") -> Finding {
        let identity = PodIdentity(namespace: "ns", name: pod, uid: "uid-\(pod)", controller: owner, revision: revision)
        let target = ContainerTarget(
            pod: identity, container: "app", tracking: .tag(image), pinnedDigest: nil,
            running: .digest(repository: "registry.local/app", digest: Fixtures.digest("0")))
        return Finding(target: target, judgement: Judgement(verdict: verdict, currentDigest: Fixtures.digest("1")))
    }

    static func ref(_ kind: OwnerKind, _ name: String) -> WorkloadReference { WorkloadReference(kind: kind, namespace: "ns", name: name) }
    static func owner(_ kind: String, _ name: String) -> OwnerReference {
        OwnerReference(apiVersion: kind == "Job" ? "batch/v1" : "apps/v1", kind: kind, name: name, uid: "uid-\(name)", controller: true)
    }

    static let rs = WorkloadState(reference: ref(.replicaSet, "web-abc"), uid: "uid-web-abc", controller: owner("Deployment", "web"))
    static let deployment = WorkloadState(reference: ref(.deployment, "web"), uid: "uid-web", generation: 2, observedGeneration: 2, replicas: 5, updatedReplicas: 5, templateImages: ["app": "app:1"])

    static func directory(_ states: [WorkloadState]) -> OwnerDirectory {
        OwnerDirectory(workloads: Dictionary(uniqueKeysWithValues: states.map { ($0.reference, Optional($0)) }))
    }

    @Test func fivePodsOneRestart() {
        let findings = (1...5).map { Self.finding(pod: "web-abc-\($0)", owner: Self.owner("ReplicaSet", "web-abc")) }
        let plan = ActionPlanner(action: .rollout).plan(findings, owners: Self.directory([Self.rs, Self.deployment]))
        #expect(plan.actions.count == 1)
        #expect(plan.actions.first?.operation == .rolloutRestart(Self.ref(.deployment, "web")))
        #expect(plan.actions.first?.pods.count == 5)
        #expect(plan.held.isEmpty)
    }

    @Test func currentAndUnknownNeverAct() {
        let findings = [
            Self.finding(pod: "a", owner: nil, verdict: .current),
            Self.finding(pod: "b", owner: nil, verdict: .unknown),
        ]
        #expect(ActionPlanner(action: .rollout).plan(findings, owners: OwnerDirectory()) == SweepPlan())
    }

    @Test func pausedDeploymentIsHeld() throws {
        var paused = Self.deployment
        paused.paused = true
        let plan = ActionPlanner(action: .rollout).plan([Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc"))], owners: Self.directory([Self.rs, paused]))
        #expect(plan.actions.isEmpty)
        #expect(try #require(plan.held.values.first).contains("paused"))
    }

    @Test(arguments: [
        WorkloadState(reference: ref(.deployment, "web"), generation: 3, observedGeneration: 2),
        WorkloadState(reference: ref(.deployment, "web"), replicas: 5, updatedReplicas: 2),
    ])
    func rolloutInProgressIsHeld(_ state: WorkloadState) throws {
        let plan = ActionPlanner(action: .rollout).plan([Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc"))], owners: Self.directory([Self.rs, state]))
        #expect(plan.actions.isEmpty)
        #expect(try #require(plan.held.values.first).contains("rollout in progress"))
    }

    @Test func statefulSetRevisionsDifferingIsInProgress() {
        let sts = WorkloadState(reference: Self.ref(.statefulSet, "db"), currentRevision: "db-1", updateRevision: "db-2")
        #expect(sts.rolloutInProgress != nil)
    }

    @Test func templatePinningADigestIsReported() throws {
        var pinned = Self.deployment
        pinned.templateImages = ["app": "app:1@\(Fixtures.digest("0"))"]
        let plan = ActionPlanner(action: .rollout).plan([Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc"))], owners: Self.directory([Self.rs, pinned]))
        #expect(plan.actions.isEmpty)
        #expect(try #require(plan.held.values.first).contains("template pins a digest; update the manifest"))
    }

    @Test func onDeleteStatefulSetPlansPacedEvictionsOfEveryStalePod() throws {
        let sts = WorkloadState(reference: Self.ref(.statefulSet, "db"), uid: "uid-db", updateStrategy: "OnDelete", selector: ["app": "db"])
        let findings = (0..<3).map { Self.finding(pod: "db-\($0)", owner: Self.owner("StatefulSet", "db")) }
        let plan = ActionPlanner(action: .rollout).plan(findings, owners: Self.directory([sts]))
        #expect(plan.actions.map(\.operation) == (0..<3).map { .evict(PodKey(namespace: "ns", name: "db-\($0)")) })
        #expect(plan.held.isEmpty)
        // Paced by the StatefulSet, and the Event regards it (the pod is the related object).
        #expect(Set(plan.actions.compactMap(\.pacing)) == [EvictionPacing(workload: Self.ref(.statefulSet, "db"), uid: "uid-db", selector: ["app": "db"])])
        #expect(plan.actions.first?.pacing?.labelSelector == "app=db")
        #expect(Set(plan.actions.map(\.subject.kind)) == ["StatefulSet"])
        #expect(plan.actions.map { $0.relatedPod?.name } == ["db-0", "db-1", "db-2"])
    }

    @Test func bareReplicaSetAndBarePodAreEvicted() {
        let bareRS = WorkloadState(reference: Self.ref(.replicaSet, "legacy"), uid: "uid-legacy")
        let findings = [Self.finding(pod: "legacy-1", owner: Self.owner("ReplicaSet", "legacy")), Self.finding(pod: "lonely", owner: nil, revision: nil)]
        let plan = ActionPlanner(action: .rollout).plan(findings, owners: Self.directory([bareRS]))
        #expect(Set(plan.actions.map(\.operation)) == [.evict(PodKey(namespace: "ns", name: "legacy-1")), .evict(PodKey(namespace: "ns", name: "lonely"))])
        let byPod = Dictionary(uniqueKeysWithValues: plan.actions.map { ($0.pods[0].name, $0) })
        #expect(byPod["legacy-1"]?.subject.kind == "ReplicaSet" && byPod["legacy-1"]?.pacing?.workload == Self.ref(.replicaSet, "legacy"))
        // Nothing replaces a bare pod: no pacing, and the Event regards the pod itself.
        #expect(byPod["lonely"]?.subject.kind == "Pod" && byPod["lonely"]?.pacing == nil)
    }

    @Test func jobPodsAreReportedOnly() throws {
        let plan = ActionPlanner(action: .rollout).plan([Self.finding(pod: "backup-1", owner: Self.owner("Job", "backup-28"))], owners: OwnerDirectory())
        #expect(plan.actions.isEmpty)
        #expect(try #require(plan.held.values.first).contains("Job"))
    }

    @Test func optedOutWorkloadIsHeld() {
        var skip = Self.deployment
        skip.annotations = ["kate.dev/skip": "true"]
        let plan = ActionPlanner(action: .rollout).plan([Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc"))], owners: Self.directory([Self.rs, skip]))
        #expect(plan.actions.isEmpty)
    }

    @Test func deleteModeDeletesEachStalePodWithItsUID() {
        let findings = (1...2).map { Self.finding(pod: "web-abc-\($0)", owner: Self.owner("ReplicaSet", "web-abc")) }
        let plan = ActionPlanner(action: .delete).plan(findings, owners: Self.directory([Self.rs, Self.deployment]))
        #expect(plan.actions.map(\.operation) == [
            .delete(PodKey(namespace: "ns", name: "web-abc-1"), uid: "uid-web-abc-1"),
            .delete(PodKey(namespace: "ns", name: "web-abc-2"), uid: "uid-web-abc-2"),
        ])
    }

    @Test func splitGroupIsDetected() {
        var findings = [
            Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc")),
            Self.finding(pod: "web-abc-2", owner: Self.owner("ReplicaSet", "web-abc"), verdict: .current),
        ]
        findings[1].target = ContainerTarget(
            pod: findings[1].target.pod, container: "app", tracking: .tag(Self.image), pinnedDigest: nil,
            running: .digest(repository: "registry.local/app", digest: Fixtures.digest("1")))
        SplitDetector.markSplits(&findings)
        #expect(findings.map(\.judgement.verdict) == [.split, .current])
    }

    @Test func differentPlatformDigestsAreNotASplit() {
        var findings = [
            Self.finding(pod: "web-abc-1", owner: Self.owner("ReplicaSet", "web-abc"), verdict: .current),
            Self.finding(pod: "web-abc-2", owner: Self.owner("ReplicaSet", "web-abc"), verdict: .current),
        ]
        findings[1].target = ContainerTarget(
            pod: findings[1].target.pod, container: "app", tracking: .tag(Self.image), pinnedDigest: nil,
            running: .digest(repository: "registry.local/app", digest: Fixtures.digest("2")))
        SplitDetector.markSplits(&findings)
        #expect(findings.map(\.judgement.verdict) == [.current, .current])
    }

    @Test func eventNoteNamesTheDigestTheNodeRunsForANodeMismatch() {
        var finding = Self.finding(pod: "agent-2", owner: Self.owner("DaemonSet", "agent"), verdict: .nodeMismatch)
        finding.target = ContainerTarget(
            pod: finding.target.pod, container: "agent", tracking: .tag(Self.image), pinnedDigest: Fixtures.digest("1"),
            running: .digest(repository: "registry.local/app", digest: Fixtures.digest("0")))
        let action = PlannedAction(
            operation: .rolloutRestart(Self.ref(.daemonSet, "agent")),
            subject: EventSubject(apiVersion: "apps/v1", kind: "DaemonSet", namespace: "ns", name: "agent", uid: "u"),
            pods: [PodKey(namespace: "ns", name: "agent-2")], evidence: [finding])
        // The class and the three digests, short: what the tag means now, what the node runs, what the pod pins.
        #expect(EventNote.note(for: action) == "kate sweep: restarted (1 pod: agent-2): container agent app:1 node-mismatch: tag sha256:111111111111, running sha256:000000000000, pinned sha256:111111111111")
    }
}
