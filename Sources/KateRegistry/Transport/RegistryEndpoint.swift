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
    /// https first, then plain http if the server turns out to speak it (loopback hosts and
    /// `--insecure-registry` hosts only, as containerd and Docker do).
    var plainHTTPFallback = false

    /// Docker Hub's API is not on `docker.io` itself.
    static let dockerHubAPIHost = "registry-1.docker.io"

    var baseURL: String { "\(scheme)://\(host)" }

    func manifestURL(repository: String, reference: String) -> String {
        "\(baseURL)/v2/\(repository)/manifests/\(reference)"
    }
}

/// One `HTTPClient` per distinct TLS configuration, so registries that share trust settings share
/// keep-alive pools, and a registry with a private CA never weakens another's verification.
/// A client loads its trust store in the background from the moment it is built: `prepare` at
/// start-up takes the system CA bundle off the first request's path.
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

    /// Builds the clients for `configurations` now.
    func prepare(_ configurations: [TLSClientConfiguration]) {
        for tls in configurations { _ = client(for: tls) }
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
        var endpoint = RegistryEndpoint(
            registry: registry, host: host, scheme: settings.plainHTTP ? "http" : "https", tls: Self.tls(settings), isMirror: isMirror)
        endpoint.plainHTTPFallback = !settings.plainHTTP && PlainHTTPPolicy.mayFallBack(host: host, insecureRegistries: insecureRegistries)
        return endpoint
    }

    private static func tls(_ settings: RegistrySettings) -> TLSClientConfiguration {
        var tls = TLSClientConfiguration()
        if let ca = settings.caFile { tls.additionalTrustRoots = [.file(ca)] }
        tls.insecureSkipVerify = settings.insecureSkipVerify
        return tls
    }

    /// The TLS configurations requests will use: the default and every configured registry's.
    func endpointTLSConfigurations() -> [TLSClientConfiguration] {
        var all = [TLSClientConfiguration()]
        for settings in registries.values.map({ Self.tls($0) }) where !all.contains(settings) { all.append(settings) }
        return all
    }
}

/// Which hosts may be asked over plain HTTP when HTTPS meets a plain-HTTP server: loopback
/// (`localhost`, 127.0.0.0/8, `::1`), as containerd, Docker and go-containerregistry allow — kind's
/// local registry runs on `localhost:5001` over HTTP — and hosts named by `--insecure-registry`.
/// Never any other host: a network attacker could otherwise strip TLS from a real registry.
public enum PlainHTTPPolicy {
    public static func mayFallBack(host authority: String, insecureRegistries: Set<String>) -> Bool {
        let lowered = authority.lowercased()
        let host = hostPart(lowered)
        if insecureRegistries.contains(lowered) || insecureRegistries.contains(host) { return true }
        return isLoopback(host)
    }

    /// `localhost`, `127.x.y.z`, `::1` (the host without port or brackets).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { octet in !octet.isEmpty && octet.count <= 3 && octet.allSatisfy(\.isNumber) && (Int(octet) ?? 256) <= 255 }
    }

    /// `[::1]:5000` → `::1`, `localhost:5001` → `localhost`, `127.0.0.1` → `127.0.0.1`.
    static func hostPart(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if authority.filter({ $0 == ":" }).count > 1 { return authority }  // bare IPv6
        return authority.split(separator: ":", maxSplits: 1).first.map(String.init) ?? authority
    }
}
