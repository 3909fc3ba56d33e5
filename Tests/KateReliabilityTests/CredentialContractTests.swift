import Foundation
import KateContract
import KateKube
import KateRegistry
import KateSweeper
import KubeTestServer
import Logging
import Synchronization
import Testing

extension Reliability {
    /// The webhook↔sweeper contract for credentials: for the same pod, the webhook (KateContract's keychain, as
    /// `kate webhook` wires it) and a real sweep over the same API resolve with the same keyring — the same
    /// sources, in kubelet's order, with the same credentials.
    @Suite("Contract: the webhook and the sweeper build the same keyring for a pod", .timeLimit(.minutes(1)))
    struct CredentialContractTests {
        static let digest = "sha256:" + String(repeating: "ab", count: 32)

        /// Records the keyring each tag is resolved with; every tag is current.
        final class RecordingResolver: TagResolving {
            let keyrings = Mutex<[String: Keyring]>([:])

            func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String {
                keyrings.withLock { $0[reference.tag ?? ""] = keyring }
                return CredentialContractTests.digest
            }

            func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
                []
            }
        }

        static func credentials(_ keyring: Keyring) -> [String] {
            keyring.credentials(registry: "reg.example", repository: "app").map { "\($0.source) \($0.identity)" }
        }

        @Test("pod secrets, then the ServiceAccount's, then the docker config: equal on both sides")
        func sameKeyringBothSides() async throws {
            let kube = try await KubeTestServer.start(logger: Reliability.quietLogger)
            let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate", logger: Reliability.quietLogger)
            try kube.addDockerConfigSecret(namespace: "team-a", name: "regcred", registry: "reg.example", username: "pod", password: "p1")
            try kube.addDockerConfigSecret(namespace: "team-a", name: "sa-cred", registry: "reg.example", username: "builder", password: "p2")
            try kube.addDockerConfigSecret(namespace: "team-a", name: "default-cred", registry: "reg.example", username: "default", password: "p3")
            try kube.addServiceAccount(namespace: "team-a", name: "builder", imagePullSecrets: ["sa-cred", "regcred"])
            try kube.addServiceAccount(namespace: "team-a", name: "default", imagePullSecrets: ["default-cred"])
            // Each pod runs its own tag, so the sweep's keyring for it can be told apart.
            func pod(_ name: String, serviceAccount: String?, secrets: [String]) throws -> Pod {
                try kube.addPod(
                    namespace: "team-a", name: name,
                    containers: [TestContainer(name: "app", image: "reg.example/app:\(name)", imageID: "reg.example/app@\(Self.digest)")],
                    options: PodOptions(serviceAccountName: serviceAccount, imagePullSecrets: secrets))
            }
            let pods = [
                try pod("both", serviceAccount: "builder", secrets: ["regcred", "gone"]),
                try pod("account-only", serviceAccount: nil, secrets: []),
                try pod("missing-account", serviceAccount: "nobody", secrets: ["regcred"]),
            ]
            let node = Keyring(sources: [(label: "docker config", config: DockerConfig(entries: [.init(server: "reg.example", username: "node", password: "p4")]))])

            let webhook = PullSecretKeychain(reader: client, node: node)
            var admitted: [String: PodKeyring] = [:]
            for pod in pods {
                admitted[pod.metadata.name ?? ""] = await webhook.keyring(for: pod, namespace: "team-a", deadline: .now + .seconds(5), logger: Reliability.quietLogger)
            }

            let resolver = RecordingResolver()
            let report = try await Sweeper(
                cluster: client, resolver: resolver, configuration: SweeperConfiguration(mountedKeyring: node), logger: Reliability.quietLogger
            ).run()
            await client.shutdown()
            await kube.stop()
            #expect(report.podCount == 3)

            let swept = resolver.keyrings.withLock { $0 }
            for name in ["both", "account-only", "missing-account"] {
                let webhookKeyring = try #require(admitted[name]).keyring
                let sweepKeyring = try #require(swept[name], "the sweep did not resolve \(name)")
                #expect(sweepKeyring.labels == webhookKeyring.labels, "\(name)")
                #expect(Self.credentials(sweepKeyring) == Self.credentials(webhookKeyring), "\(name)")
            }
            // And the order is kubelet's: the pod's own secrets, the ServiceAccount's (a secret named twice once),
            // then the mounted config; a missing secret or account is noted, not fatal.
            #expect(swept["both"]?.labels == [
                "imagePullSecret team-a/regcred", "ServiceAccount builder imagePullSecret team-a/sa-cred", "docker config",
            ])
            #expect(admitted["both"]?.problems == ["imagePullSecret team-a/gone not found"])
            #expect(swept["account-only"]?.labels == ["ServiceAccount default imagePullSecret team-a/default-cred", "docker config"])
            #expect(swept["missing-account"]?.labels == ["imagePullSecret team-a/regcred", "docker config"])
            #expect(admitted["missing-account"]?.problems == ["ServiceAccount team-a/nobody not found"])
        }
    }
}
