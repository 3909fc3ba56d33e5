import Foundation
import KateKube
import KateSweeper
import KubeTestServer
import RegistryTestSupport
import Testing

/// What the cluster's permissions and the registry's credentials do to a sweep.
@Suite("kate sweep with RBAC and registry auth", .serialized)
struct SweepClusterAccessTests {
    @Test func pullSecretOfTheServiceAccountAuthenticatesToThePrivateRegistry() async throws {
        try await SweepHarness.run(registry: .basicAuthTLS(user: "robot", password: "s3cr:et")) { h in
            let current = try await h.registry.push(repository: "private/app", tag: "7")
            try h.kube.addDockerConfigSecret(namespace: "team-a", name: "regcred", registry: h.registry.host, username: "robot", password: "s3cr:et")
            try h.kube.addServiceAccount(namespace: "team-a", name: "builder", imagePullSecrets: ["regcred"])
            try h.put(Fixtures.pod(
                namespace: "team-a", name: "app-0", containers: [.init(name: "app", image: h.image("private/app", "7"), imageID: "\(h.registry.host)/private/app@\(current)")],
                serviceAccount: "builder"))
            try h.put(Fixtures.pod(
                namespace: "team-b", name: "app-0", containers: [.init(name: "app", image: h.image("private/app", "7"), imageID: "\(h.registry.host)/private/app@\(current)")]))

            let report = try await h.sweep()

            let verdicts = Dictionary(uniqueKeysWithValues: report.findings.map { ("\($0.target.pod.namespace)/\($0.target.pod.name)", $0.judgement) })
            #expect(verdicts["team-a/app-0"]?.verdict == .current)
            // team-b has no secret: the registry's 401 makes it unknown, never an action.
            #expect(verdicts["team-b/app-0"]?.verdict == .unknown)
            #expect(verdicts["team-b/app-0"]?.reason?.contains("401") == true || verdicts["team-b/app-0"]?.reason?.lowercased().contains("unauthorized") == true,
                "\(verdicts["team-b/app-0"]?.reason ?? "")")
            #expect(h.writes.isEmpty)
        }
    }

    @Test func deniedRestartIsReportedAndTheSweepGoesOn() async throws {
        try await SweepHarness.run { h in
            _ = try await h.registry.push(repository: "team/web", tag: "1.4")
            for object in SweepEndToEndTests.deploymentObjects(h, image: h.image("team/web", "1.4"), running: SweepEndToEndTests.gone, pods: 2) {
                try h.put(object)
            }
            try h.put(Fixtures.pod(name: "lonely", containers: [.init(name: "app", image: h.image("team/web", "1.4"), imageID: "\(h.registry.host)/team/web@\(SweepEndToEndTests.gone)")]))
            h.kube.denyRBAC(verb: "patch", resource: "deployments")
            h.kube.clearRecordedCalls()

            let report = try await h.sweep()

            let restart = report.actionText(for: PodKey(namespace: "default", name: "web-5d8f7c-0"))
            #expect(restart.hasPrefix("failed: ") && restart.contains("cannot patch deployments"), "\(restart)")
            #expect(report.actionText(for: PodKey(namespace: "default", name: "lonely")) == "evicted")
            // The eviction that happened, and the restart that failed (a Warning on the Deployment).
            let reasons = h.events.compactMap { $0.bodyJSON?["reason"]?.stringValue }
            #expect(reasons.sorted() == ["StaleImageActionFailed", "StaleImageEvicted"])
        }
    }

    @Test func podListDeniedStopsTheSweep() async throws {
        try await SweepHarness.run { h in
            h.kube.denyRBAC(verb: "list", resource: "pods")
            await #expect(throws: KubeError.self) { _ = try await h.sweep() }
            #expect(h.writes.isEmpty)
        }
    }
}
