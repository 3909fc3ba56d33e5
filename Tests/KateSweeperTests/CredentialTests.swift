import Foundation
import KateKube
import Logging
import Testing
@testable import KateSweeper

@Suite("pull secrets and scoping")
struct CredentialTests {
    static let current = Fixtures.digest("c")

    static func dockerConfigSecret() -> PullSecretData {
        let auth = Data("robot:s3cret".utf8).base64EncodedString()
        let json = #"{"auths":{"registry.local":{"auth":"\#(auth)"}}}"#
        return PullSecretData(type: "kubernetes.io/dockerconfigjson", data: [".dockerconfigjson": Data(json.utf8).base64EncodedString()])
    }

    @Test func secretsReadOncePerAccountAndTagsResolvedOncePerScope() async throws {
        var pods: [Pod] = []
        for namespace in ["team-a", "team-b"] {
            for index in 1...4 {
                pods.append(try Fixtures.decodePod(Fixtures.pod(
                    namespace: namespace, name: "app-\(index)",
                    containers: [.init(name: "app", image: "registry.local/app:1", imageID: "registry.local/app@\(Self.current)")],
                    serviceAccount: "builder")))
            }
        }
        let cluster = InMemoryCluster(pods: pods)
        cluster.state.withLock { state in
            state.serviceAccounts = ["team-a/builder": ["regcred"], "team-b/builder": []]
            state.secrets = ["team-a/regcred": Self.dockerConfigSecret()]
        }
        let resolver = TableResolver(["registry.local/app:1": .init(digest: Self.current)])
        let sweeper = Sweeper(cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test"))
        let report = try await sweeper.run()
        #expect(report.podCount == 8 && report.stalePods == 0)
        #expect(cluster.state.withLock { ($0.accountReads, $0.secretReads) } == (2, 1))
        // team-a resolves with its secret, team-b with the mounted config only: two questions, not eight.
        // The label is KateContract's keychain's, the webhook's too: the secret came through the ServiceAccount.
        #expect(Set(resolver.keyrings.withLock { $0 }) == [["ServiceAccount builder imagePullSecret team-a/regcred"], []])
    }

    @Test func labelledNamespaceIsSkipped() async throws {
        let pods = try ["kept", "skipped"].map { namespace in
            try Fixtures.decodePod(Fixtures.pod(namespace: namespace, name: "p", containers: [.init(name: "a", image: "registry.local/app:1", imageID: "registry.local/app@\(Self.current)")]))
        }
        let cluster = InMemoryCluster(pods: pods)
        cluster.state.withLock { $0.optedOutNamespaces = ["skipped"] }
        let resolver = TableResolver(["registry.local/app:1": .init(digest: Self.current)])
        let report = try await Sweeper(cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test")).run()
        #expect(report.podCount == 1)
        #expect(report.skipped.map(\.pod.namespace) == ["skipped"])
    }

    /// Found by fuzz-admission: `imagePullSecrets: [{}]` is valid API input (name is omitempty);
    /// it must neither fail the decode of the pod (and with it the whole list page) nor be
    /// fetched as the secret "" (a GET of the namespace's secret list).
    @Test func pullSecretWithoutNameIsSkipped() async throws {
        var object = Fixtures.pod(
            namespace: "team-a", name: "app", containers: [.init(name: "app", image: "registry.local/app:1", imageID: "registry.local/app@\(Self.current)")],
            serviceAccount: "builder")
        var spec = try #require(object["spec"] as? [String: Any])
        spec["imagePullSecrets"] = [[String: Any](), ["name": "regcred"]]
        object["spec"] = spec
        let pod = try Fixtures.decodePod(object)
        #expect(pod.spec.imagePullSecrets == [LocalObjectReference(name: ""), LocalObjectReference(name: "regcred")])

        let cluster = InMemoryCluster(pods: [pod])
        cluster.state.withLock { state in
            state.serviceAccounts = ["team-a/builder": [""]]
            state.secrets = ["team-a/regcred": Self.dockerConfigSecret()]
        }
        let resolver = TableResolver(["registry.local/app:1": .init(digest: Self.current)])
        let report = try await Sweeper(cluster: cluster, resolver: resolver, configuration: SweeperConfiguration(), logger: Logger(label: "test")).run()
        #expect(report.podCount == 1)
        #expect(cluster.state.withLock { $0.secretReads } == 1, "only regcred is read")
        #expect(Set(resolver.keyrings.withLock { $0 }) == [["imagePullSecret team-a/regcred"]])
    }
}
