import Foundation
import KubeTestServer
import Logging
import RegistryTestSupport

/// A private registry (docker-registry, TLS + htpasswd Basic auth) behind a `DelayProxy`, its tags,
/// and the files the `kate` binary is pointed at: a kubeconfig for a test API server and a registry
/// config trusting the registry's test CA.
final class BenchEnvironment {
    static let user = "bench-robot"
    static let password = "pull:only"

    let registry: TestRegistry
    let proxy: DelayProxy
    let tags: [Fleet.Tag]
    let directory: URL

    static func start(tags count: Int, delay: Duration) async throws -> BenchEnvironment {
        let registry = try await TestRegistry.start(.basicAuthTLS(user: user, password: password))
        let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: delay)
        // 25 tags per repository: per-repository auth scopes, without a push per repository.
        var tags: [Fleet.Tag] = []
        let repositories = max(1, count / 25)
        var byRepository: [Int: [Int]] = [:]
        for index in 0..<count { byRepository[index % repositories, default: []].append(index) }
        var digests: [Int: String] = [:]
        for (repository, indices) in byRepository {
            let pushed = try await registry.pushMany(repository: "bench/svc\(repository)", tags: indices.map { "v\($0)" })
            for index in indices { digests[index] = pushed["v\(index)"] }
        }
        for index in 0..<count {
            let repository = "\(proxy.host)/bench/svc\(index % repositories)"
            tags.append(Fleet.Tag(image: "\(repository):v\(index)", repository: repository, digest: digests[index] ?? ""))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sweep-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let caFile = registry.caFile ?? ""
        try Data(#"{"registries": {"\#(proxy.host)": {"caFile": "\#(caFile)"}}}"#.utf8).write(to: directory.appendingPathComponent("registries.json"))
        return BenchEnvironment(registry: registry, proxy: proxy, tags: tags, directory: directory)
    }

    private init(registry: TestRegistry, proxy: DelayProxy, tags: [Fleet.Tag], directory: URL) {
        self.registry = registry
        self.proxy = proxy
        self.tags = tags
        self.directory = directory
    }

    var registryConfig: String { directory.appendingPathComponent("registries.json").path }

    func fleet(pods: Int, tags count: Int, namespaces: Int) -> Fleet {
        Fleet(pods: pods, tags: Array(tags.prefix(count)), namespaces: namespaces, registry: proxy.host, user: Self.user, password: Self.password)
    }

    /// A test API server holding `fleet`, and a kubeconfig for it.
    func cluster(_ fleet: Fleet) async throws -> (server: KubeTestServer, kubeconfig: String) {
        var quiet = Logger(label: "bench-sweep.kube")
        quiet.logLevel = .warning
        let server = try await KubeTestServer.start(logger: quiet)
        server.setRecording(false)
        for object in fleet.objects { _ = try server.put(object) }
        let kubeconfig = directory.appendingPathComponent("kubeconfig-\(server.port)").path
        try Data("""
            apiVersion: v1
            kind: Config
            clusters:
            - name: bench
              cluster:
                server: \(server.url)
                certificate-authority-data: \(Data(server.caPEM.utf8).base64EncodedString())
            users:
            - name: bench
              user:
                token: \(server.token)
            contexts:
            - name: bench
              context: {cluster: bench, user: bench}
            current-context: bench

            """.utf8).write(to: URL(fileURLWithPath: kubeconfig))
        return (server, kubeconfig)
    }

    /// Requests the registry has answered so far (its access log).
    func registryRequests() async -> Int {
        (try? await registry.receivedRequests().count) ?? -1
    }

    func stop() async {
        await proxy.stop()
        await registry.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
