import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

extension Reliability {
    /// The Kubernetes API fails while kate reads or writes. Reads are retried (they are idempotent);
    /// a write whose answer was lost is not repeated; what cannot be retried ends in a clean error
    /// that names the call, and nothing is written that the sweeper was not sure of. The registry
    /// side is a fixed answer here (`RegistryAnswer`): these tests watch the API client alone.
    @Suite("Kubernetes API faults", .timeLimit(.minutes(1)))
    struct KubeAPIFaultTests {
        @Test("500 and 429 on the pod list are retried; the sweep then proceeds normally", arguments: [
            InjectedFailure.status(500), .status(503), .tooManyRequests(retryAfterSeconds: 1),
        ])
        func transientListFailure(_ failure: InjectedFailure) async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(failure, count: 2, method: "GET", pathPrefix: "/api/v1/pods")
            let started = ContinuousClock.now
            let report = try await rig.sweep(resolver: RegistryAnswer())
            let elapsed = ContinuousClock.now - started
            #expect(report.podCount == 2)
            #expect(rig.writes == ["PATCH /apis/apps/v1/namespaces/shop/deployments/web"])
            let listCalls = rig.kube.recordedCalls.filter { $0.method == "GET" && $0.path == "/api/v1/pods" }
            #expect(listCalls.count == 3, "expected 2 failed + 1 served list calls, saw \(listCalls.count)")
            if case .tooManyRequests(let seconds) = failure {
                #expect(elapsed >= .seconds(seconds), "Retry-After was not honoured (\(elapsed))")
            }
            await rig.stop()
        }

        @Test("the pod list keeps failing: the sweep stops with an error naming the call, and writes nothing")
        func persistentListFailure() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), count: 100, method: "GET", pathPrefix: "/api/v1/pods")
            let started = ContinuousClock.now
            let error = await #expect(throws: KubeError.self) { try await rig.sweep(resolver: RegistryAnswer()) }
            #expect(error?.code == 500)
            #expect(error.map { "\($0)" }?.contains("pods") == true, "\(error.map { "\($0)" } ?? "")")
            #expect(rig.writes.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(5))
            await rig.stop()
        }

        @Test("an API server slower than the request timeout: the sweep stops with a clean timeout error, on time, no writes")
        func slowAPIServer() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            // Every round trip to the API server (TLS flights included) held 1 s; kate allows 300 ms per request.
            let proxy = try DelayProxy.start(upstreamPort: rig.kube.port, delay: .seconds(1))
            var configuration = rig.kube.clientConfiguration
            configuration.server = "https://127.0.0.1:\(proxy.port)"
            configuration.requestTimeout = .milliseconds(300)
            let slowClient = KubeClient(configuration: configuration, fieldManager: "kate-sweeper", logger: Reliability.quietLogger)
            rig.kube.clearRecordedCalls()
            let sweeper = Sweeper(cluster: slowClient, resolver: RegistryAnswer(), configuration: SweeperConfiguration(), logger: Reliability.quietLogger)

            let started = ContinuousClock.now
            let error = await #expect(throws: KubeError.self) { _ = try await sweeper.run() }
            let elapsed = ContinuousClock.now - started
            #expect(error.map { "\($0)" }?.contains("pods") == true, "\(error.map { "\($0)" } ?? "no error")")
            // 4 attempts × 300 ms plus backoff of at most 50 ms each.
            #expect(elapsed < .seconds(3), "a 300 ms request timeout took \(elapsed) to give up")
            #expect(rig.writes.isEmpty)
            await slowClient.shutdown()
            await proxy.stop()
            await rig.stop()
        }

        @Test("410 Expired mid-pagination: the list restarts and returns every pod exactly once")
        func continueTokenExpired() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment(replicas: 7)
            rig.kube.expireNextContinueTokens(count: 2)
            let pods = try await rig.client.listPods(namespace: "shop", pageSize: 2)
            let names = pods.compactMap(\.metadata.name)
            #expect(names.count == 7)
            #expect(Set(names).count == 7, "duplicates after the restart: \(names.sorted())")
            await rig.stop()
        }

        @Test("410 Expired on every restart: a clean 410 error, not an endless loop")
        func continueTokenAlwaysExpired() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment(replicas: 5)
            rig.kube.expireNextContinueTokens(count: 100)
            let error = await #expect(throws: KubeError.self) { try await rig.client.listPods(namespace: "shop", pageSize: 2) }
            #expect(error?.code == 410)
            await rig.stop()
        }

        @Test("a dropped connection on a read is retried transparently")
        func droppedRead() async throws {
            let rig = try await SweepRig.start(allowConnectionDrops: true)
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.dropConnection, count: 1, method: "GET", pathPrefix: "/api/v1/pods")
            let report = try await rig.sweep(resolver: RegistryAnswer())
            #expect(report.podCount == 2)
            #expect(rig.writes == ["PATCH /apis/apps/v1/namespaces/shop/deployments/web"])
            await rig.stop()
        }

        @Test("the answer to the restart PATCH is lost: not sent twice, reported as failed, no other writes")
        func droppedWrite() async throws {
            let rig = try await SweepRig.start(allowConnectionDrops: true)
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.dropConnection, count: 1, method: "PATCH", pathPrefix: "/apis/apps/v1/namespaces/shop/deployments/web")
            let report = try await rig.sweep(resolver: RegistryAnswer())
            #expect(rig.writes == ["PATCH /apis/apps/v1/namespaces/shop/deployments/web"], "a write with a lost answer was repeated: \(rig.writes)")
            let outcome = try #require(report.results.first?.outcome)
            if case .failed(let message) = outcome {
                #expect(!message.isEmpty)
            } else {
                Issue.record("a PATCH whose answer never arrived was reported as \(outcome)")
            }
            await rig.stop()
        }

        @Test("the owner chain cannot be read (500 on ReplicaSet/Deployment GETs): nothing is restarted, evicted or deleted")
        func ownerUnreadable() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), count: 1000, method: "GET", pathPrefix: "/apis/apps/v1/namespaces/shop/")
            let report = try await rig.sweep(resolver: RegistryAnswer())
            #expect(report.stalePods == 2, "the pods are stale; only their owners are unknown")
            #expect(rig.writes.isEmpty, "acted without knowing the owner: \(rig.writes)")
            #expect(report.held.count == 2)
            #expect(report.podVerdicts.keys.allSatisfy { report.actionText(for: $0).contains("cannot read ReplicaSet") })
            await rig.stop()
        }

        @Test("500 on the restart PATCH: reported as failed, not retried blindly, the sweep completes")
        func serverErrorOnWrite() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            rig.kube.clearRecordedCalls()
            rig.kube.injectFailure(.status(500), count: 100, method: "PATCH")
            let report = try await rig.sweep(resolver: RegistryAnswer())
            let patches = rig.writes.filter { $0.hasPrefix("PATCH") }
            #expect(patches.count == 1, "a PATCH that got 500 was sent \(patches.count) times (writes are not retried after the request went out)")
            #expect(report.results.allSatisfy { if case .failed = $0.outcome { true } else { false } }, "\(report.results)")
            await rig.stop()
        }
    }
}
