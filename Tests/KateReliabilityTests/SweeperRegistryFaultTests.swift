import Foundation
import KateSweeper
import Testing

extension Reliability {
    /// The registry misbehaves during a sweep. A sweep that cannot learn a tag's current digest must
    /// call the pods "unknown" and touch nothing: restarting on a guess would roll every workload in
    /// the cluster each time the registry hiccups.
    @Suite("Registry faults during a sweep", .timeLimit(.minutes(1)))
    struct SweeperRegistryFaultTests {
        enum Fault: String, CaseIterable, CustomTestStringConvertible {
            case serverError, slow, rateLimited, connectionReset
            var testDescription: String { rawValue }
        }

        @Test("registry failing: verdict unknown, no writes, sweep finishes within its resolve timeout", arguments: Fault.allCases)
        func registryFailing(_ fault: Fault) async throws {
            let rig = try await SweepRig.start()
            var resetter: ResettingServer?
            switch fault {
            case .serverError: rig.registry.setSteady(.status(500))
            case .slow: rig.registry.setSteady(.delay(.seconds(5)))
            case .rateLimited: rig.registry.setSteady(.tooManyRequests(retryAfterSeconds: 60))
            case .connectionReset: resetter = try ResettingServer()
            }
            if let resetter {
                // The same pods, but their registry hangs up on every connection.
                let image = "\(resetter.host)/shop/web:2.4.1"
                try rig.kube.addDeployment(namespace: "shop", name: "web", image: image, replicas: 2, imageID: "\(resetter.host)/shop/web@\(SweepRig.oldDigest)")
            } else {
                try rig.addStaleDeployment()
            }
            rig.kube.clearRecordedCalls()

            let started = ContinuousClock.now
            let report = try await rig.sweep(resolveTimeout: .seconds(1))
            let elapsed = ContinuousClock.now - started

            #expect(rig.writes.isEmpty, "the sweeper wrote without knowing the current digest: \(rig.writes)")
            #expect(report.podCount == 2)
            #expect(report.podVerdicts.values.allSatisfy { $0 == .unknown }, "\(report.podVerdicts)")
            #expect(report.resolveErrors > 0)
            #expect(report.stalePods == 0)
            #expect(elapsed < .seconds(3), "the sweep took \(elapsed) with a 1 s resolve timeout")
            await resetter?.stop()
            await rig.stop()
        }

        @Test("registry failing then recovering between sweeps: the next sweep acts, once")
        func recoversNextSweep() async throws {
            let rig = try await SweepRig.start()
            try rig.addStaleDeployment()
            rig.registry.setSteady(.status(503))
            rig.kube.clearRecordedCalls()
            _ = try await rig.sweep(resolveTimeout: .seconds(1))
            #expect(rig.writes.isEmpty)

            rig.registry.setSteady(.serve)
            let report = try await rig.sweep()
            #expect(report.stalePods == 2)
            #expect(rig.writes == ["PATCH /apis/apps/v1/namespaces/shop/deployments/web"])
            await rig.stop()
        }
    }
}
