import Foundation
import KateAdmission
import KateKube
import KubeTestServer
import Synchronization
import Testing

/// The mutation-loop breaker: tripped by one pod name created again and again after kate pinned it, never by many
/// distinct pods; one Event on the owner per trip, written through the real `KubeClient` to the test API server.
@Suite("Mutation-loop breaker")
struct MutationLoopBreakerTests {
    typealias Rig = PinningGuardsTests.Rig
    static let cnpgOptIn = AdmissionPolicy(pinOperatorOwnedKinds: [OwnerKindPattern("Cluster.postgresql.cnpg.io")!])

    /// The review again, as a controller's next CREATE of the same pod (a fresh request UID).
    static func again(_ review: [UInt8], uid: Int) throws -> [UInt8] {
        try JSONPatchApplier.apply(
            patch: Array(#"[{"op":"replace","path":"/request/uid","value":"loop-\#(uid)"}]"#.utf8), to: try JSONValue.parse(review)).bytes
    }

    /// Events the API server holds (events.k8s.io/v1), as (reason, regarding kind/name, note).
    static func events(_ api: KubeTestServer) -> [(reason: String, regarding: String, related: String, note: String, type: String)] {
        api.objects(.events).map { event in
            let regarding = "\(event["regarding"]?["kind"]?.stringValue ?? "")/\(event["regarding"]?["name"]?.stringValue ?? "")"
            let related = "\(event["related"]?["kind"]?.stringValue ?? "")/\(event["related"]?["name"]?.stringValue ?? "")"
            return (event["reason"]?.stringValue ?? "", regarding, related, event["note"]?.stringValue ?? "", event["type"]?.stringValue ?? "")
        }
    }

    @Test("pg-main-2 created 3 times after being pinned: the 3rd is left unpinned, ONE Warning Event on Cluster pg-main")
    func sameNameTripsOnce() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        let client = KubeClient(configuration: api.clientConfiguration, fieldManager: "kate-webhook", logger: TestLogging.quiet)
        let rig = PinningGuardsTests.rig(policy: Self.cnpgOptIn, events: client)
        let review = try Fixtures.bytes(PinningGuardsTests.cnpg)

        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: 1))))
        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: 2))))
        #expect(Self.events(api).isEmpty)
        let third = try await rig.admit(try Self.again(review, uid: 3))
        #expect(third.at("/allowed") == .bool(true))
        #expect(!PinningGuardsTests.isPatched(third))
        #expect(PinningGuardsTests.warnings(third).isEmpty)

        let events = Self.events(api)
        try #require(events.count == 1)
        #expect(events[0].reason == "MutationLoop")
        #expect(events[0].type == "Warning")
        #expect(events[0].regarding == "Cluster/pg-main")
        #expect(events[0].related == "Pod/pg-main-2")
        #expect(events[0].note.hasPrefix("kate stopped pinning: pod pg-main-2 created 3 times in "))
        #expect(events[0].note.contains("pods of Cluster pg-main are admitted unpinned for 30m"))
        #expect(rig.counter("kate_mutation_loop_breaker_total", [("signature", "same-pod")]) == 1)

        // Cooling off: more CREATEs of that pod, and of its sibling, stay unpinned, with no further Event.
        for uid in 4...6 { #expect(!PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: uid)))) }
        let sibling = try JSONPatchApplier.apply(patch: Array(#"""
            [{"op":"replace","path":"/request/name","value":"pg-main-3"},{"op":"replace","path":"/request/object/metadata/name","value":"pg-main-3"}]
            """#.utf8), to: try JSONValue.parse(review)).bytes
        #expect(!PinningGuardsTests.isPatched(try await rig.admit(sibling)))
        #expect(Self.events(api).count == 1)
        #expect(rig.counter("kate_mutation_loop_breaker_total", [("signature", "same-pod")]) == 1)
        #expect(rig.counter("kate_admission_skipped_total", [("reason", "loop-breaker")]) == 5)
        // Other owners are pinned as usual.
        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Fixtures.bytes("reviews/prometheus-operator-statefulset-create.json"))))
        await client.shutdown()
        await api.stop()
    }

    @Test("without RBAC for Events (403) the breaker still trips: the pod is unpinned and counted, no Event, no error to the pod")
    func tripsWithoutEventRBAC() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        api.denyRBAC(verb: "create", resource: "events")
        let client = KubeClient(configuration: api.clientConfiguration, fieldManager: "kate-webhook", logger: TestLogging.quiet)
        let rig = PinningGuardsTests.rig(policy: Self.cnpgOptIn, events: client)
        let review = try Fixtures.bytes(PinningGuardsTests.cnpg)
        for uid in 1...2 { #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: uid)))) }
        let third = try await rig.admit(try Self.again(review, uid: 3))
        #expect(third.at("/allowed") == .bool(true))
        #expect(!PinningGuardsTests.isPatched(third))
        #expect(Self.events(api).isEmpty)
        #expect(api.recordedCalls.contains { $0.path.contains("/events") })
        #expect(rig.counter("kate_mutation_loop_breaker_total", [("signature", "same-pod")]) == 1)
        await client.shutdown()
        await api.stop()
    }

    @Test("a 500-pod scale-up of one ReplicaSet (generated names) pins every pod and never trips")
    func scaleUpDoesNotTrip() async throws {
        let recorder = RecordingEvents()
        let rig = PinningGuardsTests.rig(events: recorder)
        let review = try Fixtures.bytes(Fixtures.podCreate)
        var patched = 0
        for uid in 1...500 {
            if PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: uid))) { patched += 1 }
            // The fake registry answers without suspending, so this loop would hold one of the (two, in CI)
            // cooperative threads for seconds and starve the suites that measure deadlines.
            await Task.yield()
        }
        #expect(patched == 500)
        #expect(recorder.count == 0)
        #expect(rig.counter("kate_mutation_loop_breaker_total", [("signature", "same-pod")]) == 0)
        #expect(rig.breaker?.openOwners == 0)
    }

    @Test("a StatefulSet's rolling update (each pod recreated once) and a dry-run replay do not trip it")
    func rollingUpdateAndDryRunDoNotTrip() async throws {
        let recorder = RecordingEvents()
        let rig = PinningGuardsTests.rig(events: recorder)
        let review = try Fixtures.bytes("reviews/prometheus-operator-statefulset-create.json")
        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: 1))))
        // Dry runs are answered like real requests and leave no trace (sideEffects: None).
        let dry = try JSONPatchApplier.apply(patch: Array(#"[{"op":"replace","path":"/request/dryRun","value":true}]"#.utf8), to: try JSONValue.parse(review)).bytes
        for _ in 1...3 { #expect(PinningGuardsTests.isPatched(try await rig.admit(dry))) }
        // The second real CREATE (a rolling update recreates each pod once): still pinned.
        #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: 2))))
        #expect(recorder.count == 0)
        // The next real CREATE is the third: now it trips.
        #expect(!PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: 3))))
        #expect(recorder.count == 1)
        #expect(recorder.last?.regarding.kind == "StatefulSet")
    }

    @Test("--loop-breaker-creates 0 turns it off")
    func off() async throws {
        let rig = PinningGuardsTests.rig(policy: Self.cnpgOptIn, loopBreaker: nil)
        let review = try Fixtures.bytes(PinningGuardsTests.cnpg)
        for uid in 1...5 { #expect(PinningGuardsTests.isPatched(try await rig.admit(try Self.again(review, uid: uid)))) }
    }

    // MARK: the state machine, on a clock the test moves

    static let pod = MutationLoopBreaker.Identity(namespace: "db", name: "db-1")
    static let owner = MutationLoopBreaker.OwnerKey(namespace: "db", id: "uid-db")

    @Test("the 3rd CREATE within 10m trips with the span since the first; CREATEs spread wider than the window do not")
    func window() {
        let breaker = MutationLoopBreaker()
        let t0 = ContinuousClock.now
        #expect(breaker.check(Self.pod, owner: Self.owner, now: t0) == .proceed(Self.pod))
        #expect(breaker.check(Self.pod, owner: Self.owner, counts: false, now: t0) == .proceed(nil), "a dry run gets no ticket")
        breaker.recordPinned(Self.pod, now: t0)
        breaker.recordPinned(Self.pod, now: t0 + .seconds(120))
        guard case .tripped(let trip) = breaker.check(Self.pod, owner: Self.owner, now: t0 + .seconds(240)) else {
            Issue.record("expected a trip")
            return
        }
        #expect(trip.creates == 3)
        #expect(trip.span == .seconds(240))

        let slow = MutationLoopBreaker()
        slow.recordPinned(Self.pod, now: t0)
        slow.recordPinned(Self.pod, now: t0 + .seconds(400))
        // 11 minutes after the first: only one pinned CREATE is still inside the window.
        #expect(slow.check(Self.pod, owner: Self.owner, now: t0 + .seconds(660)) == .proceed(Self.pod))
    }

    @Test("after the cool-off the owner is pinned again, and counting starts afresh")
    func coolOffEnds() {
        let breaker = MutationLoopBreaker(settings: .init(creates: 2, window: .seconds(60), coolOff: .seconds(300)))
        let t0 = ContinuousClock.now
        breaker.recordPinned(Self.pod, now: t0)
        guard case .tripped = breaker.check(Self.pod, owner: Self.owner, now: t0 + .seconds(1)) else {
            Issue.record("expected a trip")
            return
        }
        let other = MutationLoopBreaker.Identity(namespace: "db", name: "db-2")
        guard case .coolingOff = breaker.check(other, owner: Self.owner, now: t0 + .seconds(299)) else {
            Issue.record("expected the owner to cool off")
            return
        }
        #expect(breaker.check(Self.pod, owner: Self.owner, now: t0 + .seconds(302)) == .proceed(Self.pod))
    }

    @Test("bounded memory: under a flood of 100,000 distinct names a looping name is still caught")
    func bounded() {
        let breaker = MutationLoopBreaker(settings: .init(capacity: 1000))
        let t0 = ContinuousClock.now
        for i in 0..<100_000 { breaker.recordPinned(.init(namespace: "ns", name: "pod-\(i)"), now: t0) }
        // A loop on one name is still seen under the flood (least-recently-used, the hot entry survives).
        for i in 0..<2 {
            breaker.recordPinned(Self.pod, now: t0 + .seconds(i))
            for j in 0..<500 { breaker.recordPinned(.init(namespace: "ns", name: "flood-\(i)-\(j)"), now: t0) }
        }
        guard case .tripped = breaker.check(Self.pod, owner: Self.owner, now: t0 + .seconds(3)) else {
            Issue.record("expected a trip")
            return
        }
    }
}

/// Records the Events the guards would write.
final class RecordingEvents: LoopEventRecording {
    private let events = Mutex<[KubeEvent]>([])
    func recordLoopEvent(_ event: KubeEvent) async throws { events.withLock { $0.append(event) } }
    var count: Int { events.withLock { $0.count } }
    var last: KubeEvent? { events.withLock { $0.last } }
}
