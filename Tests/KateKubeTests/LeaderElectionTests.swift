import Foundation
import KateKube
import KateNet
import KubeTestServer
import Synchronization
import Testing

/// Who leads when, as the candidates themselves report it.
final class LeadershipLog: Sendable {
    struct Term: Sendable {
        let identity: String
        let began: ContinuousClock.Instant
        var ended: ContinuousClock.Instant?
    }

    private let state = Mutex((terms: [Term](), current: 0, mostAtOnce: 0))

    func begin(_ identity: String) {
        state.withLock { state in
            state.terms.append(Term(identity: identity, began: .now))
            state.current += 1
            state.mostAtOnce = max(state.mostAtOnce, state.current)
        }
    }

    func end(_ identity: String) {
        state.withLock { state in
            state.current -= 1
            if let index = state.terms.lastIndex(where: { $0.identity == identity && $0.ended == nil }) { state.terms[index].ended = .now }
        }
    }

    var terms: [Term] { state.withLock { $0.terms } }
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }
    var leader: String? { state.withLock { state in state.terms.last { $0.ended == nil }?.identity } }

    /// Leads until cancelled.
    func lead(as identity: String) async {
        begin(identity)
        while (try? await sleepCancellably(until: .now + .seconds(60))) != nil {}
        end(identity)
    }

    func waitForLeader(other previous: String? = nil, within timeout: Duration = .seconds(10)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let leader, leader != previous { return leader }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw LeaderTestError.noLeader
    }
}

enum LeaderTestError: Error { case noLeader }

@Suite("Lease leader election")
struct LeaderElectionTests {
    /// Short timings with client-go's proportions, so a failover takes about a second.
    static let fast = LeaderElector.Timing(leaseDuration: .seconds(1), renewDeadline: .milliseconds(600), retryPeriod: .milliseconds(150))
    /// `metav1.MicroTime` as kube-apiserver writes it: six fractional digits, UTC.
    static func isMicroTime(_ text: String?) -> Bool {
        guard let text else { return false }
        return text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/#) != nil
    }

    private static func lease(_ server: KubeTestServer) -> Lease? {
        server.object(.leases, namespace: "kate", name: "kate-sweeper", as: Lease.self)
    }

    @Test("client-go's defaults are 15 s lease, 10 s renew deadline, 2 s retry; unsafe timings are refused")
    func timings() async throws {
        #expect(LeaderElector.Timing.clientGo == .init(leaseDuration: .seconds(15), renewDeadline: .seconds(10), retryPeriod: .seconds(2)))
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let unsafe = LeaderElector(
                client: client, namespace: "kate", name: "x", identity: "a",
                timing: .init(leaseDuration: .seconds(10), renewDeadline: .seconds(10), retryPeriod: .seconds(2))
            )
            await #expect(throws: LeaderElector.ElectionError.self) { try await unsafe.run { 1 } }
            #expect(server.recordedCalls.isEmpty, "a refused timing must not touch the Lease")
            await client.shutdown()
        }
    }

    @Test("of two candidates one leads; when it stops it releases the Lease and the other takes it; never two at once")
    func failoverOnRelease() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let log = LeadershipLog()
            let candidates = ["kate-a", "kate-b"].map { identity in
                (identity, Task {
                    try await LeaderElector(client: client, namespace: "kate", name: "kate-sweeper", identity: identity, timing: Self.fast)
                        .run { await log.lead(as: identity) }
                })
            }
            let first = try await log.waitForLeader()
            let held = try #require(Self.lease(server))
            #expect(held.spec?.holderIdentity == first)
            #expect(held.spec?.leaseTransitions == 0)
            #expect(held.spec?.leaseDurationSeconds == 1)
            #expect(Self.isMicroTime(held.spec?.acquireTime), "\(held.spec?.acquireTime ?? "nil")")
            #expect(Self.isMicroTime(held.spec?.renewTime))
            // The leader renews: renewTime moves on, acquireTime stays.
            try await Task.sleep(for: .milliseconds(500))
            let renewed = try #require(Self.lease(server))
            #expect(renewed.spec?.holderIdentity == first && renewed.spec?.acquireTime == held.spec?.acquireTime)
            #expect((renewed.spec?.renewDate ?? .distantPast) > (held.spec?.renewDate ?? .distantFuture))

            let stopped = ContinuousClock.now
            candidates.first { $0.0 == first }?.1.cancel()
            let second = try await log.waitForLeader(other: first)
            #expect(second != first)
            // Released, not expired: the other candidate need not wait out the lease.
            #expect(ContinuousClock.now - stopped < .seconds(1))
            let taken = try #require(Self.lease(server))
            #expect(taken.spec?.holderIdentity == second)
            #expect(taken.spec?.leaseTransitions == 1)
            #expect(log.mostAtOnce == 1)
            for (_, task) in candidates { task.cancel() }
            for (_, task) in candidates { _ = try? await task.value }
            #expect(Self.lease(server)?.spec?.holderIdentity == "", "the last leader releases on cancellation")
            await client.shutdown()
        }
    }

    @Test("a leader that cannot renew steps down; the other takes the Lease only after it expired")
    func failoverOnExpiry() async throws {
        try await withServer { server in
            server.addToken("token-a")
            var configurationA = server.clientConfiguration
            configurationA.auth = .token("token-a")
            let clientA = KubeClient(configuration: configurationA, logger: testLogger)
            let clientB = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let log = LeadershipLog()
            let a = Task {
                try await LeaderElector(client: clientA, namespace: "kate", name: "kate-sweeper", identity: "kate-a", timing: Self.fast)
                    .run { await log.lead(as: "kate-a") }
            }
            #expect(try await log.waitForLeader() == "kate-a")
            let b = Task {
                try await LeaderElector(client: clientB, namespace: "kate", name: "kate-sweeper", identity: "kate-b", timing: Self.fast)
                    .run { await log.lead(as: "kate-b") }
            }
            try await Task.sleep(for: .milliseconds(400))
            #expect(log.leader == "kate-a", "a held Lease is not taken while it is renewed")
            // kate-a is cut off from the API (its credentials stop working): it cannot renew, nor release.
            let cutOff = ContinuousClock.now
            server.revokeToken("token-a")
            await #expect(throws: LeaderElector.ElectionError.leadershipLost(lease: "kate/kate-sweeper", identity: "kate-a")) { try await a.value }
            #expect(try await log.waitForLeader(other: "kate-a") == "kate-b")
            let terms = log.terms
            let endA = try #require(terms.first { $0.identity == "kate-a" }?.ended)
            let beginB = try #require(terms.first { $0.identity == "kate-b" }?.began)
            #expect(endA < beginB, "kate-a stopped leading before kate-b began")
            #expect(beginB - cutOff >= .milliseconds(700), "kate-b waited for the lease to expire (took it after \(beginB - cutOff))")
            #expect(log.mostAtOnce == 1)
            #expect(Self.lease(server)?.spec?.leaseTransitions == 1)
            b.cancel()
            _ = try? await b.value
            await clientA.shutdown()
            await clientB.shutdown()
        }
    }

    @Test("a Lease update with a stale resourceVersion is 409 Conflict; of two racing writers one wins")
    func optimisticConcurrency() async throws {
        try await withServer { server in
            let client = KubeClient(configuration: server.clientConfiguration, logger: testLogger)
            let created = try await client.createLease(
                Lease(metadata: ObjectMeta(name: "lock", namespace: "kate"), spec: LeaseSpec(holderIdentity: "a", leaseDurationSeconds: 15)), namespace: "kate"
            )
            await #expect(throws: KubeError.self) {
                try await client.createLease(Lease(metadata: ObjectMeta(name: "lock"), spec: LeaseSpec()), namespace: "kate")
            }
            var first = created, second = created
            first.spec?.holderIdentity = "b"
            second.spec?.holderIdentity = "c"
            let updated = try await client.updateLease(first, namespace: "kate")
            #expect(updated.spec?.holderIdentity == "b")
            #expect(updated.metadata.resourceVersion != created.metadata.resourceVersion)
            do {
                _ = try await client.updateLease(second, namespace: "kate")
                Issue.record("a stale resourceVersion must conflict")
            } catch let error as KubeError {
                #expect(error.isConflict && error.reason == "Conflict")
                #expect(error.message.contains(#"Operation cannot be fulfilled on leases.coordination.k8s.io "lock": the object has been modified"#))
            }
            #expect(try await client.getLease(namespace: "kate", name: "lock").spec?.holderIdentity == "b")
            await client.shutdown()
        }
    }
}
