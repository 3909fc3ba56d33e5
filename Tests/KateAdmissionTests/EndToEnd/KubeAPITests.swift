import Foundation
import KateAdmission
import KateContract
import KateKube
import KateRegistry
import KubeTestServer
import Testing

/// Pull secrets, ServiceAccounts and namespace labels read through the real `KubeClient` from the
/// Kubernetes test API server (HTTPS, bearer token, Status error bodies).
@Suite("Kubernetes API reads for admission")
struct KubeAPITests {
    @Test("pod secret, ServiceAccount secret, missing secret and missing ServiceAccount")
    func pullSecretsThroughTheAPI() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        try api.addDockerConfigSecret(namespace: "shop", name: "regcred", registry: "registry.acme.example:5000", username: "ci", password: "s3cret")
        try api.addDockerConfigSecret(namespace: "shop", name: "builder-cred", registry: "ghcr.io", username: "bot", password: "t0ken")
        try api.addServiceAccount(namespace: "shop", name: "builder", imagePullSecrets: ["builder-cred"])
        let client = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
        let keyrings = PullSecretKeychain(reader: client, node: .empty)

        let pod = Pod(
            metadata: ObjectMeta(generateName: "web-", namespace: "shop"),
            spec: PodSpec(containers: [Container(name: "web", image: "nginx:1")],
                          imagePullSecrets: [LocalObjectReference(name: "regcred"), LocalObjectReference(name: "typo")],
                          serviceAccountName: "builder"))
        let result = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: TestLogging.quiet)
        #expect(result.keyring.labels == ["imagePullSecret shop/regcred", "ServiceAccount builder imagePullSecret shop/builder-cred"])
        #expect(result.checked.last == "docker config")
        #expect(result.problems == ["imagePullSecret shop/typo not found"])
        #expect(!result.keyring.credentials(registry: "registry.acme.example:5000", repository: "shop/web").isEmpty)

        let orphan = Pod(metadata: ObjectMeta(namespace: "shop"), spec: PodSpec(containers: [], serviceAccountName: "ghost"))
        let none = await keyrings.keyring(for: orphan, namespace: "shop", deadline: .now + .seconds(5), logger: TestLogging.quiet)
        #expect(none.problems == ["ServiceAccount shop/ghost not found"])

        // Cached: a second pod of the same shape costs no API reads.
        let before = api.recordedCalls.count
        _ = await keyrings.keyring(for: pod, namespace: "shop", deadline: .now + .seconds(5), logger: TestLogging.quiet)
        #expect(api.recordedCalls.count == before)
        await client.shutdown()
        await api.stop()
    }

    @Test("a namespace labelled kate.dev/skip=true opts out; other namespaces do not")
    func namespaceLabel() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        try api.addNamespace("legacy", labels: ["kate.dev/skip": "true"])
        try api.addNamespace("shop")
        let client = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
        let check = NamespaceLabelOptOut(client: client)
        #expect(await check.isOptedOut(namespace: "legacy", logger: TestLogging.quiet))
        #expect(await check.isOptedOut(namespace: "shop", logger: TestLogging.quiet) == false)
        #expect(await check.isOptedOut(namespace: "missing", logger: TestLogging.quiet) == false)
        await client.shutdown()
        await api.stop()
    }

    @Test("without RBAC to read namespaces the check turns itself off after one 403")
    func namespaceLabelForbidden() async throws {
        let api = try await KubeTestServer.start(logger: TestLogging.quiet)
        try api.addNamespace("legacy", labels: ["kate.dev/skip": "true"])
        api.denyRBAC(verb: "get", resource: "namespaces")
        let client = KubeClient(configuration: api.clientConfiguration, logger: TestLogging.quiet)
        let check = NamespaceLabelOptOut(client: client)
        #expect(await check.isOptedOut(namespace: "legacy", logger: TestLogging.quiet) == false)
        let calls = api.recordedCalls.count
        #expect(calls >= 1)
        #expect(await check.isOptedOut(namespace: "other", logger: TestLogging.quiet) == false)
        #expect(api.recordedCalls.count == calls)
        await client.shutdown()
        await api.stop()
    }
}
