import KateNet
import Logging
import Synchronization

/// Where and how to reach one registry API (the registry itself or one of its mirrors).
struct RegistryEndpoint: Sendable, Equatable {
    /// The registry as images name it (`docker.io`): the key for settings, metrics and errors.
    let registry: String
    /// The host the API lives on (`registry-1.docker.io`, `mirror.corp:5000`).
    let host: String
    let scheme: String
    let tls: TLSClientConfiguration
    let isMirror: Bool

    /// Docker Hub's API is not on `docker.io` itself.
    static let dockerHubAPIHost = "registry-1.docker.io"

    var baseURL: String { "\(scheme)://\(host)" }

    func manifestURL(repository: String, reference: String) -> String {
        "\(baseURL)/v2/\(repository)/manifests/\(reference)"
    }
}

/// One `HTTPClient` per distinct TLS configuration, so registries that share trust settings share
/// keep-alive pools, and a registry with a private CA never weakens another's verification.
final class HTTPClientPool: Sendable {
    private let clients = Mutex<[(tls: TLSClientConfiguration, client: HTTPClient)]>([])
    private let connectTimeout: Duration
    private let proxy: ProxyConfiguration?
    private let logger: Logger

    init(connectTimeout: Duration, proxy: ProxyConfiguration?, logger: Logger) {
        self.connectTimeout = connectTimeout
        self.proxy = proxy
        self.logger = logger
    }

    func client(for tls: TLSClientConfiguration) -> HTTPClient {
        clients.withLock { list in
            if let existing = list.first(where: { $0.tls == tls }) { return existing.client }
            let configuration = HTTPClient.Configuration(
                tls: tls, connectTimeout: connectTimeout, proxy: proxy,
                maxIdleConnectionsPerHost: 64, maxResponseBodyBytes: 16 << 20)
            let client = HTTPClient(configuration: configuration, logger: logger)
            list.append((tls, client))
            return client
        }
    }

    var count: Int { clients.withLock { $0.count } }

    func shutdown() async {
        let all = clients.withLock { list in
            defer { list.removeAll() }
            return list.map(\.client)
        }
        for client in all { await client.shutdown() }
    }
}

extension ResolverConfiguration {
    /// Mirrors first (in order), then the registry itself.
    func endpoints(for registry: String) -> [RegistryEndpoint] {
        let settings = settings(for: registry)
        let upstreamHost = registry == ImageReference.dockerHub ? RegistryEndpoint.dockerHubAPIHost : registry
        let mirrors = settings.mirrors.map { mirror in
            endpoint(registry: registry, host: mirror, settings: self.registries[mirror] ?? settings, isMirror: true)
        }
        return mirrors + [endpoint(registry: registry, host: upstreamHost, settings: settings, isMirror: false)]
    }

    private func endpoint(registry: String, host: String, settings: RegistrySettings, isMirror: Bool) -> RegistryEndpoint {
        var tls = TLSClientConfiguration()
        if let ca = settings.caFile { tls.additionalTrustRoots = [.file(ca)] }
        tls.insecureSkipVerify = settings.insecureSkipVerify
        return RegistryEndpoint(registry: registry, host: host, scheme: settings.plainHTTP ? "http" : "https", tls: tls, isMirror: isMirror)
    }
}
