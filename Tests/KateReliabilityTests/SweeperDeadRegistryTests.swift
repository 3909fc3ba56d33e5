import Foundation
import KateRegistry
import KateSweeper
import RegistryTestSupport
import Testing

extension Reliability {
    /// One registry dies while a sweep resolves many tags on it. The resolver's circuit breaker
    /// (the sweeper uses the same `Resolver` as the webhook) must turn "one timeout per tag" into
    /// one timeout for the first wave and an immediate failure for every other tag.
    @Suite("A dead registry during a sweep", .timeLimit(.minutes(1)))
    struct SweeperDeadRegistryTests {
        @Test("40 tags on a refused / hung / blackholed registry, 8 resolved at a time: about one timeout, not five; nothing written",
              arguments: DeadRegistry.Mode.allCases)
        func deadRegistry(_ mode: DeadRegistry.Mode) async throws {
            let rig = try await SweepRig.start()
            let dead = try await DeadRegistry.start(mode)
            for i in 0..<40 {
                try rig.kube.addDeployment(
                    namespace: "shop", name: "web\(i)", image: "\(dead.host)/shop/web\(i):1.0", replicas: 1,
                    imageID: "\(dead.host)/shop/web\(i)@\(SweepRig.oldDigest)")
            }
            rig.kube.clearRecordedCalls()
            var configuration = ResolverConfiguration()
            configuration.connectTimeout = .seconds(1)
            let resolver = Resolver(configuration: configuration, logger: Reliability.quietLogger)
            let sweeper = Sweeper(
                cluster: rig.client, resolver: resolver,
                configuration: SweeperConfiguration(resolveConcurrency: 8, resolveTimeout: .seconds(1)), logger: Reliability.quietLogger)

            let started = ContinuousClock.now
            let report = try await sweeper.run()
            let elapsed = ContinuousClock.now - started

            // Without the breaker: 40 tags / 8 at a time × 1 s = 5 s.
            #expect(elapsed < .milliseconds(2500), "the sweep took \(elapsed)")
            #expect(resolver.circuitState(host: dead.host) == .open)
            #expect(report.resolveErrors == 40)
            #expect(report.podVerdicts.values.allSatisfy { $0 == .unknown })
            #expect(rig.writes.isEmpty, "the sweeper wrote without knowing the current digest: \(rig.writes)")
            await resolver.shutdown()
            await dead.release()
            await rig.stop()
        }
    }
}
