import Foundation
import KateAdmission
import KateRegistry
import KateSweeper
import RegistryTestSupport
import Testing

extension Reliability {
    /// A registry that dies while kate works. The resolver's circuit breaker (the webhook and the
    /// sweeper share the `Resolver`) turns "one timeout per lookup" into one timeout for the first
    /// wave and an immediate, fail-open answer for everything after it, saying since when.
    @Suite("A dead registry during admission and sweeps", .timeLimit(.minutes(1)))
    struct DeadRegistryTests {
        @Test("refused / hung / blackholed: after the first review, 30 reviews answer at once with 'unreachable since'",
              arguments: DeadRegistry.Mode.allCases)
        func admission(_ mode: DeadRegistry.Mode) async throws {
            let dead = try await DeadRegistry.start(mode)
            let rig = AdmissionRig(plainHTTP: [dead.host])
            let first = try await rig.pin(Reviews.podCreate(registry: dead.host), budget: .seconds(2))
            #expect(first.report.outcome == .failedOpen)
            // The review's deadline and the request's timeout can be the same instant: the shared
            // lookup may record the failure just after the review is answered.
            for _ in 0..<100 where rig.resolver.circuitState(host: dead.host) != .open { try await Task.sleep(for: .milliseconds(10)) }
            #expect(rig.resolver.circuitState(host: dead.host) == .open)
            // Lookups the first wave started may still be finishing (on a loaded machine their timeouts fire a
            // little apart), and a review that joins one gets its "timed out". Wait until a review sees only the
            // open circuit; from then on every one must.
            for _ in 0..<50 {
                let settling = try await rig.pin(Reviews.podCreate(registry: dead.host), budget: .seconds(2))
                if settling.warnings.allSatisfy({ $0.contains("registry unreachable since 20") }) { break }
            }
            var slowest = Duration.zero
            for index in 0..<30 {
                let outcome = try await rig.pin(Reviews.podCreate(registry: dead.host), budget: .seconds(2))
                slowest = max(slowest, outcome.elapsed)
                #expect(outcome.report.outcome == .failedOpen)
                #expect(outcome.warnings.count == Reviews.unpinnedImages)
                #expect(outcome.warnings.allSatisfy { $0.contains("registry unreachable since 20") }, "review \(index): \(outcome.warnings)")
            }
            #expect(slowest < .milliseconds(200), "slowest review with the circuit open: \(slowest)")
            await rig.shutdown()
            await dead.release()
        }

        @Test("40 tags on a refused / hung / blackholed registry, 8 resolved at a time: about one timeout, not five; nothing written",
              arguments: DeadRegistry.Mode.allCases)
        func sweep(_ mode: DeadRegistry.Mode) async throws {
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
