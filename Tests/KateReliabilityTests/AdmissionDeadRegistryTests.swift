import Foundation
import KateAdmission
import KateRegistry
import RegistryTestSupport
import Testing

extension Reliability {
    /// A registry that dies while pods are admitted: the first review pays at most one timeout,
    /// every later one answers at once, fail-open, with a warning that says since when.
    @Suite("A dead registry during admission", .timeLimit(.minutes(1)))
    struct AdmissionDeadRegistryTests {
        @Test("refused / hung / blackholed: after the first review, 30 reviews answer at once with 'unreachable since'",
              arguments: DeadRegistry.Mode.allCases)
        func deadRegistry(_ mode: DeadRegistry.Mode) async throws {
            let dead = try await DeadRegistry.start(mode)
            let rig = AdmissionRig(plainHTTP: [dead.host])
            let first = try await rig.pin(Reviews.podCreate(registry: dead.host), budget: .seconds(2))
            #expect(first.report.outcome == .failedOpen)
            // The review's deadline and the request's timeout can be the same instant: the shared
            // lookup may record the failure just after the review is answered.
            for _ in 0..<100 where rig.resolver.circuitState(host: dead.host) != .open { try await Task.sleep(for: .milliseconds(10)) }
            #expect(rig.resolver.circuitState(host: dead.host) == .open)
            var slowest = Duration.zero
            for _ in 0..<30 {
                let outcome = try await rig.pin(Reviews.podCreate(registry: dead.host), budget: .seconds(2))
                slowest = max(slowest, outcome.elapsed)
                #expect(outcome.report.outcome == .failedOpen)
                #expect(outcome.warnings.count == Reviews.unpinnedImages)
                #expect(outcome.warnings.allSatisfy { $0.contains("registry unreachable since 20") }, "\(outcome.warnings)")
            }
            #expect(slowest < .milliseconds(200), "slowest review with the circuit open: \(slowest)")
            await rig.shutdown()
            await dead.release()
        }
    }
}
