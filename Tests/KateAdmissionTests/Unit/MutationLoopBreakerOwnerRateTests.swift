import Foundation
import KateAdmission
import KateKube
import KateNet
import Logging
import Synchronization
import Testing

/// The loop breaker's second signature: one owner's pods (generated names, so never the same name twice) created
/// more often than its replica count explains. Driven through `MutatingWebhook` with real-shaped reviews and a fake
/// replica reader (the real reader against the test API server is in `OwnerReplicasEndToEndTests`).
@Suite("Mutation-loop breaker: owner-rate signature")
struct MutationLoopBreakerOwnerRateTests {
    typealias Rig = PinningGuardsTests.Rig

    /// The CloudNativePG instance pod as an operator creating it with only `generateName` (a fresh name each time).
    static func generatedCNPG(uid: Int) throws -> [UInt8] {
        try Fixtures.review(PinningGuardsTests.cnpg, edits: #"""
            [{"op":"remove","path":"/request/name"},{"op":"remove","path":"/request/object/metadata/name"},
             {"op":"add","path":"/request/object/metadata/generateName","value":"pg-main-"},
             {"op":"replace","path":"/request/uid","value":"gen-\#(uid)"}]
            """#)
    }

    /// The example ReplicaSet pod (generated name) as the n-th CREATE.
    static func replicaSetPod(uid: Int) throws -> [UInt8] {
        try Fixtures.review(Fixtures.podCreate, edits: #"[{"op":"replace","path":"/request/uid","value":"rs-\#(uid)"}]"#)
    }

    static func rig(reader: FakeReplicaReader, settings: MutationLoopBreaker.Settings = .init(), events: RecordingEvents, maxWait: Duration = .seconds(1)) -> Rig {
        PinningGuardsTests.rig(
            policy: MutationLoopBreakerTests.cnpgOptIn, loopBreaker: settings, events: events,
            replicas: OwnerReplicas(reader: reader, peakWindow: settings.window, maxWait: maxWait))
    }

    static func tripCount(_ rig: Rig, _ signature: String) -> Int64 { rig.counter("kate_mutation_loop_breaker_total", [("signature", signature)]) }

    @Test("an operator recreating its 3 instances' generated-name pods 40 times trips at the 17th (> 2 × 3 + 10), with ONE Event on the owner")
    func operatorLoopTrips() async throws {
        let reader = FakeReplicaReader(.replicas(3))
        let events = RecordingEvents()
        let rig = Self.rig(reader: reader, events: events)
        var patched: [Int] = []
        for uid in 1...40 {
            if PinningGuardsTests.isPatched(try await rig.admit(try Self.generatedCNPG(uid: uid))) { patched.append(uid) }
            await Task.yield()
        }
        #expect(patched == Array(1...16))
        try #require(events.count == 1)
        let event = try #require(events.last)
        #expect(event.reason == "MutationLoop")
        #expect(event.type == .warning)
        #expect(event.regarding.kind == "Cluster")
        #expect(event.regarding.name == "pg-main")
        #expect(event.related == nil, "a generated name names no pod")
        #expect(event.note.hasPrefix("kate stopped pinning: 17 pods of Cluster pg-main created in "), "\(event.note)")
        #expect(event.note.contains(" for 3 replicas (more than 2 × 3 + 10"), "\(event.note)")
        #expect(event.note.contains("pods of Cluster pg-main are admitted unpinned for 30m"))
        #expect(Self.tripCount(rig, "owner-rate") == 1)
        #expect(Self.tripCount(rig, "same-pod") == 0)
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "loop-breaker")]) == 24)
        // Asked once, when the count first passed the floor (11th CREATE); then the cached answer served.
        #expect(reader.calls == 1)
    }

    @Test("a 500-pod scale-up of one ReplicaSet (scale replicas 500) pins every pod, never trips, and asks for the count once")
    func scaleUpDoesNotTrip() async throws {
        let reader = FakeReplicaReader(.replicas(500))
        let events = RecordingEvents()
        let rig = Self.rig(reader: reader, events: events)
        var patched = 0
        for uid in 1...500 {
            if PinningGuardsTests.isPatched(try await rig.admit(try Self.replicaSetPod(uid: uid))) { patched += 1 }
            // The fakes answer without suspending: yield, or this loop starves the suites that measure deadlines.
            await Task.yield()
        }
        #expect(patched == 500)
        #expect(events.count == 0)
        #expect(Self.tripCount(rig, "owner-rate") == 0)
        #expect(rig.breaker?.openOwners == 0)
        let owner = MutationLoopBreaker.OwnerKey(namespace: "shop", id: "0f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f")
        #expect(rig.breaker?.ownerCreateCount(owner) == 500, "every pinned CREATE of the ReplicaSet counted")
        #expect(reader.calls == 1)
    }

    @Test("no replica count (no scale subresource, 403) never trips the owner-rate signature; the unknown answer is cached", arguments: [
        OwnerReplicaCount.unknown("Cluster.postgresql.cnpg.io has no scale subresource"),
        .unknown("clusters.postgresql.cnpg.io/scale \"pg-main\" is forbidden (403)"),
    ])
    func unknownNeverTrips(_ answer: OwnerReplicaCount) async throws {
        let reader = FakeReplicaReader(answer)
        let events = RecordingEvents()
        let rig = Self.rig(reader: reader, events: events)
        for uid in 1...60 {
            #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.generatedCNPG(uid: uid))))
            await Task.yield()
        }
        #expect(events.count == 0)
        #expect(Self.tripCount(rig, "owner-rate") == 0)
        #expect(reader.calls == 1)
    }

    @Test("signature 1 still applies to an owner without a replica count")
    func samePodStillTrips() async throws {
        let rig = Self.rig(reader: FakeReplicaReader(.unknown("forbidden")), events: RecordingEvents())
        let review = try Fixtures.bytes(PinningGuardsTests.cnpg)
        for uid in 1...2 { #expect(PinningGuardsTests.isPatched(try await rig.admit(try MutationLoopBreakerTests.again(review, uid: uid)))) }
        #expect(!PinningGuardsTests.isPatched(try await rig.admit(try MutationLoopBreakerTests.again(review, uid: 3))))
        #expect(Self.tripCount(rig, "same-pod") == 1)
    }

    @Test("a slow replica read never holds a review: the CREATE that needs it is decided without it, the next uses the answer")
    func slowReaderDoesNotDelay() async throws {
        let reader = FakeReplicaReader(.replicas(0), gated: true)
        let events = RecordingEvents()
        let rig = Self.rig(reader: reader, settings: .init(ownerFloor: 3), events: events, maxWait: .milliseconds(200))
        for uid in 1...3 { #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.generatedCNPG(uid: uid)))) }
        // The 4th passes the floor: the read starts and hangs; the review is answered (pinned) within the wait.
        let started = ContinuousClock.now
        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.generatedCNPG(uid: 4))))
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(3), "the review waited \(waited) for a read that had not answered")
        #expect(reader.calls == 1)
        #expect(events.count == 0)
        reader.release()
        // Once the read answers (replicas 0: limit 2 × 0 + 3), the next CREATE is judged with it and trips.
        var tripped = false
        for uid in 5...50 where !tripped {
            tripped = !PinningGuardsTests.isPatched(try await rig.admit(try Self.generatedCNPG(uid: uid)))
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(tripped)
        #expect(events.count == 1)
        #expect(reader.calls == 1, "one read in flight served every review")
    }

    @Test("the replica wait ends at the review's deadline even when maxWait is longer")
    func deadlineBoundsTheWait() async {
        let reader = FakeReplicaReader(.replicas(3), gated: true)
        let replicas = OwnerReplicas(reader: reader, maxWait: .seconds(30))
        let owner = OwnerReference(apiVersion: "postgresql.cnpg.io/v1", kind: "Cluster", name: "pg-main", uid: "u1", controller: true)
        let started = ContinuousClock.now
        let first = await replicas.replicas(of: owner, namespace: "db", deadline: .now + .milliseconds(150), logger: TestLogging.quiet)
        let waited = ContinuousClock.now - started
        #expect(first == nil)
        #expect(waited < .seconds(3), "waited \(waited) past a 150ms deadline")
        reader.release()
        // The read kept running and its answer is cached for the next review.
        var answer: Int?
        for _ in 0..<200 where answer == nil {
            answer = await replicas.replicas(of: owner, namespace: "db", deadline: .now + .milliseconds(50), logger: TestLogging.quiet)
            try? await Task.sleep(for: .milliseconds(10))
        }
        #expect(answer == 3)
        #expect(reader.calls == 1)
    }

    @Test("a dry run neither counts nor trips; --loop-breaker-owner-floor 0 turns the signature off")
    func dryRunAndOff() async throws {
        let reader = FakeReplicaReader(.replicas(1))
        let rig = Self.rig(reader: reader, settings: .init(ownerFloor: 2), events: RecordingEvents())
        let dry = try JSONPatchApplier.apply(
            patch: Array(#"[{"op":"replace","path":"/request/dryRun","value":true}]"#.utf8), to: try JSONValue.parse(try Self.generatedCNPG(uid: 0))).bytes
        for _ in 1...30 { #expect(PinningGuardsTests.isPatched(try await rig.admit(dry))) }
        #expect(reader.calls == 0)
        #expect(Self.tripCount(rig, "owner-rate") == 0)

        let offReader = FakeReplicaReader(.replicas(1))
        let off = Self.rig(reader: offReader, settings: .init(ownerFloor: 0), events: RecordingEvents())
        for uid in 1...40 {
            #expect(PinningGuardsTests.isPatched(try await off.admit(try Self.generatedCNPG(uid: uid))))
            await Task.yield()
        }
        #expect(offReader.calls == 0)
    }

    @Test("an owner scaled 500 → 3 after creating its pods is judged against the 500 it had within the window")
    func peakReplicasWithinWindow() async {
        let reader = FakeReplicaReader(.replicas(500))
        let replicas = OwnerReplicas(reader: reader, timeToLive: .milliseconds(1))
        let owner = OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "u2", controller: true)
        #expect(await replicas.replicas(of: owner, namespace: "shop", deadline: .now + .seconds(5), logger: TestLogging.quiet) == 500)
        reader.answer = .replicas(3)
        try? await Task.sleep(for: .milliseconds(5))
        #expect(await replicas.replicas(of: owner, namespace: "shop", deadline: .now + .seconds(5), logger: TestLogging.quiet) == 500)
        #expect(reader.calls == 2, "re-read after the TTL; the peak is kept")
    }

    // MARK: the state machine, on a clock the test moves

    static let owner = MutationLoopBreaker.OwnerKey(namespace: "db", id: "uid-pg")
    static let pod = MutationLoopBreaker.Identity(namespace: "db", name: "pg-main-")

    @Test("the rule: more than factor × replicas + floor pinned CREATEs in the window", arguments: [
        (3, 16, false), (3, 17, true), (0, 11, true), (500, 1010, false), (500, 1011, true),
    ] as [(Int, Int, Bool)])
    func rule(_ replicas: Int, _ creates: Int, _ trips: Bool) {
        let breaker = MutationLoopBreaker()
        let t0 = ContinuousClock.now
        for _ in 1..<creates { breaker.recordOwnerPinned(Self.owner, now: t0) }
        #expect(breaker.ownerNeedsReplicas(Self.owner, now: t0 + .seconds(1)) == (creates > 10), "asked only past the floor")
        let decision = breaker.checkOwnerRate(Self.owner, pod: Self.pod, replicas: replicas, now: t0 + .seconds(1))
        if case .tripped(let trip) = decision {
            #expect(trips)
            #expect(trip.creates == creates)
            #expect(trip.signature == .ownerRate(replicas: replicas))
        } else {
            #expect(!trips, "\(decision)")
        }
    }

    @Test("CREATEs older than the window stop counting; the span is from the first CREATE still counted")
    func windowSlides() {
        let breaker = MutationLoopBreaker()
        let t0 = ContinuousClock.now
        for i in 0..<15 { breaker.recordOwnerPinned(Self.owner, now: t0 + .seconds(i)) }
        #expect(breaker.ownerCreateCount(Self.owner, now: t0 + .seconds(20)) == 15)
        // 11 minutes later every bucket of those CREATEs has left the 10-minute window.
        #expect(breaker.ownerCreateCount(Self.owner, now: t0 + .seconds(660)) == 0)
        #expect(breaker.checkOwnerRate(Self.owner, pod: Self.pod, replicas: 0, now: t0 + .seconds(660)) == .proceed(nil))
        for i in 0..<12 { breaker.recordOwnerPinned(Self.owner, now: t0 + .seconds(700 + 10 * i)) }
        guard case .tripped(let trip) = breaker.checkOwnerRate(Self.owner, pod: Self.pod, replicas: 0, now: t0 + .seconds(900)) else {
            Issue.record("expected a trip")
            return
        }
        #expect(trip.creates == 13)
        #expect(trip.span == .seconds(200))
        // Cooling off: signature 1's check sees it for the owner's other pods.
        guard case .coolingOff = breaker.check(nil, owner: Self.owner, now: t0 + .seconds(901)) else {
            Issue.record("expected the owner to cool off")
            return
        }
    }
}

/// A replica reader that answers `answer`, optionally only after `release()`.
final class FakeReplicaReader: OwnerReplicaReading {
    private struct State {
        var answer: OwnerReplicaCount
        var calls = 0
        var released: Bool
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>

    init(_ answer: OwnerReplicaCount, gated: Bool = false) {
        state = Mutex(State(answer: answer, released: !gated))
    }

    var calls: Int { state.withLock { $0.calls } }
    var answer: OwnerReplicaCount {
        get { state.withLock { $0.answer } }
        set { state.withLock { $0.answer = newValue } }
    }

    func release() {
        let waiters = state.withLock { state in
            state.released = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func replicaCount(of owner: OwnerReference, namespace: String) async -> OwnerReplicaCount {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let released = state.withLock { state in
                state.calls += 1
                if !state.released { state.waiters.append(continuation) }
                return state.released
            }
            if released { continuation.resume() }
        }
        return answer
    }
}
