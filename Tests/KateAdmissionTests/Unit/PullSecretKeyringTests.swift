import Foundation
import KateAdmission
import KateContract
import KateKube
import KateRegistry
import Logging
import Synchronization
import Testing

@Suite("Pull secret keyrings")
struct PullSecretKeyringTests {
    /// An API with a fixed set of secrets and ServiceAccounts that counts its reads.
    final class FakeAPI: PullSecretReading {
        let secrets: [String: DockerConfig]
        let accounts: [String: [String]]
        let failing: Set<String>
        let delay: Duration
        let reads = Mutex<[String]>([])

        init(secrets: [String: DockerConfig], accounts: [String: [String]], failing: Set<String> = [], delay: Duration = .zero) {
            self.secrets = secrets
            self.accounts = accounts
            self.failing = failing
            self.delay = delay
        }

        func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? {
            reads.withLock { $0.append("secret \(namespace)/\(name)") }
            if failing.contains(name) { throw KubeError(code: 500, reason: "InternalError", message: "etcd timeout") }
            return secrets["\(namespace)/\(name)"]
        }

        func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
            reads.withLock { $0.append("sa \(namespace)/\(name)") }
            if delay > .zero { try await Task.sleep(for: delay) }
            return accounts["\(namespace)/\(name)"]
        }
    }

    static func config(_ host: String) throws -> DockerConfig {
        let auth = Data("user:pass".utf8).base64EncodedString()
        return try DockerConfig.parse(json: Array(#"{"auths":{"\#(host)":{"auth":"\#(auth)"}}}"#.utf8))
    }

    static func pod(secrets: [String], serviceAccount: String?) -> Pod {
        Pod(metadata: ObjectMeta(generateName: "web-", namespace: "shop"),
            spec: PodSpec(containers: [Container(name: "web", image: "nginx:1")], imagePullSecrets: secrets.map(LocalObjectReference.init),
                          serviceAccountName: serviceAccount))
    }

    @Test("pod secrets first, then the ServiceAccount's, then the node docker config; missing ones are noted")
    func order() async throws {
        let api = FakeAPI(
            secrets: ["shop/regcred": try Self.config("a.example"), "shop/builder-cred": try Self.config("b.example")],
            accounts: ["shop/builder": ["builder-cred", "regcred"]])
        let node = Keyring(sources: [(label: "docker config /etc/kate/docker/config.json", config: try Self.config("c.example"))])
        let keyrings = PullSecretKeychain(reader: api, node: node, nodeLabel: "docker config /etc/kate/docker/config.json")
        let result = await keyrings.keyring(
            for: Self.pod(secrets: ["regcred", "gone"], serviceAccount: "builder"), namespace: "shop", deadline: .now + .seconds(5),
            logger: Logger(label: "test"))
        #expect(result.keyring.labels == [
            "imagePullSecret shop/regcred", "ServiceAccount builder imagePullSecret shop/builder-cred",
            "docker config /etc/kate/docker/config.json",
        ])
        #expect(result.problems == ["imagePullSecret shop/gone not found"])
        #expect(result.summary.contains("ServiceAccount shop/builder"))
    }

    @Test("the default ServiceAccount is used when the pod names none, and reads are cached")
    func defaultAccountAndCache() async throws {
        let api = FakeAPI(secrets: ["shop/sa-cred": try Self.config("a.example")], accounts: ["shop/default": ["sa-cred"]])
        let keyrings = PullSecretKeychain(reader: api, node: .empty)
        let pod = Self.pod(secrets: [], serviceAccount: nil)
        let first = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
        _ = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
        #expect(first.keyring.labels == ["ServiceAccount default imagePullSecret shop/sa-cred"])
        #expect(api.reads.withLock { $0 } == ["sa shop/default", "secret shop/sa-cred"])
    }

    @Test("an API failure is reported, skipped and not cached")
    func failuresNotCached() async throws {
        let api = FakeAPI(secrets: [:], accounts: ["shop/default": []], failing: ["flaky"])
        let keyrings = PullSecretKeychain(reader: api, node: .empty)
        let pod = Self.pod(secrets: ["flaky"], serviceAccount: nil)
        let first = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
        #expect(first.problems.first?.hasPrefix("imagePullSecret shop/flaky unreadable") == true)
        _ = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test"))
        #expect(api.reads.withLock { $0 }.filter { $0 == "secret shop/flaky" }.count == 2)
    }

    @Test("concurrent pods share one read per ServiceAccount and per secret (a ReplicaSet's burst, a sweep page)")
    func concurrentReadsShared() async throws {
        let api = FakeAPI(secrets: ["shop/sa-cred": try Self.config("a.example")], accounts: ["shop/default": ["sa-cred"]], delay: .milliseconds(200))
        let keyrings = PullSecretKeychain(reader: api, node: .empty)
        let pod = Self.pod(secrets: [], serviceAccount: nil)
        let labels = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<20 {
                group.addTask { await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: Logger(label: "test")).keyring.labels }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(labels.count == 20 && labels.allSatisfy { $0 == ["ServiceAccount default imagePullSecret shop/sa-cred"] })
        #expect(api.reads.withLock { $0 } == ["sa shop/default", "secret shop/sa-cred"])
    }

    @Test("a slow API server costs at most the deadline; resolution goes on with the node credentials")
    func slowAPI() async throws {
        let api = FakeAPI(secrets: [:], accounts: ["shop/default": []], delay: .seconds(30))
        let node = Keyring(sources: [(label: "docker config /etc/kate/config.json", config: try Self.config("c.example"))])
        let keyrings = PullSecretKeychain(reader: api, node: node, nodeLabel: "docker config /etc/kate/config.json")
        let started = ContinuousClock.now
        let result = await keyrings.keyring(
            for: Self.pod(secrets: [], serviceAccount: nil), namespace: "shop", deadline: .now + .milliseconds(200), logger: Logger(label: "test"))
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(result.keyring.labels == ["docker config /etc/kate/config.json"])
        #expect(result.problems == ["imagePullSecrets and ServiceAccount shop/default not read in time"])
    }
}
