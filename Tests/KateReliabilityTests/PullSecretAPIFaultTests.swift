import Foundation
import KateAdmission
import KateContract
import KateKube
import KubeTestServer
import Testing

extension Reliability {
    /// The Kubernetes API fails while the webhook reads a pod's imagePullSecrets and
    /// ServiceAccount. Credentials are a nice-to-have for public images: these must still be
    /// pinned, and the lookups may not eat more than half of the review's budget.
    @Suite("Kubernetes API faults during admission", .timeLimit(.minutes(1)))
    struct PullSecretAPIFaultTests {
        enum Fault: String, CaseIterable, CustomTestStringConvertible {
            case serverError, tooManyRequests, forbidden
            var testDescription: String { rawValue }
        }

        @Test("pull secrets unreadable: public images still pinned, within half the budget, nothing written", arguments: Fault.allCases)
        func pullSecretsUnreadable(_ fault: Fault) async throws {
            let registry = try await FaultyRegistry.start()
            let kube = try await KubeTestServer.start(logger: Reliability.quietLogger)
            switch fault {
            case .serverError: kube.injectFailure(.status(500), count: 1000, method: "GET")
            case .tooManyRequests: kube.injectFailure(.tooManyRequests(retryAfterSeconds: 30), count: 1000, method: "GET")
            case .forbidden:
                kube.denyRBAC(verb: "get", resource: "secrets")
                kube.denyRBAC(verb: "get", resource: "serviceaccounts")
            }
            let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate", logger: Reliability.quietLogger)
            var rig = AdmissionRig(plainHTTP: [registry.host])
            rig.keyrings = PullSecretKeychain(reader: client, node: .empty)

            let outcome = try await rig.pin(Reviews.podCreate(registry: registry.host), budget: .seconds(2))
            #expect(outcome.report.outcome == .pinned, "\(outcome.report.failures)")
            #expect(outcome.patchedImages.count == Reviews.unpinnedImages)
            #expect(outcome.elapsed < .seconds(1) + Reliability.deadlineSlack, "credential lookups may take at most half the budget: \(outcome.elapsed)")
            #expect(kube.recordedCalls.allSatisfy { $0.method == "GET" }, "admission wrote to the API")

            await client.shutdown()
            await rig.shutdown()
            await kube.stop()
            await registry.stop()
        }
    }
}
