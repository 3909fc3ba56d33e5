import Foundation
import KateKube
import KateNet
import Logging

/// A Kubernetes API server for tests and benchmarks: loopback HTTPS on an ephemeral port, real
/// URL layout, pagination, selectors, Status error bodies, authentication and the write
/// semantics kate relies on (patch, eviction, UID-precondition delete, events). Objects are kept
/// as JSON, so fixtures keep every field `kubectl get -o json` printed.
///
/// ```swift
/// let server = try await KubeTestServer.start()
/// let web = try server.addDeployment(namespace: "shop", name: "web", image: "nginx:1.27", replicas: 3)
/// let client = KubeClient(configuration: server.clientConfiguration, logger: logger)
/// server.denyRBAC(verb: "patch", resource: "deployments", namespace: "shop")
/// #expect(server.recordedCalls.filter { $0.method == "PATCH" }.count == 1)
/// await server.stop()                              // also on the error path
/// ```
///
/// Authentication: the default bearer token (`token`, user `defaultUser`), extra tokens
/// (`addToken`), basic users, and — when started with `requireClientCertificate` — any client
/// certificate from this server's CA, which maps to the single user `client-certificate-user`
/// (`RequestContext` does not carry the peer certificate, so its CN cannot be read per request).
public final class KubeTestServer: Sendable {
    /// `https://127.0.0.1:<port>`.
    public let url: String
    public let port: Int
    /// The CA that signed the serving certificate (and client certificates from `issueClientCertificate`).
    public let caPEM: String
    /// The default identity's bearer token (user `system:serviceaccount:kate:kate-sweeper`).
    public let token: String
    /// The user the default token authenticates as; RBAC denials quote it.
    public static let defaultUser = "system:serviceaccount:kate:kate-sweeper"

    let store: ObjectStore
    let controls: Controls
    private let ca: CertificateAuthority
    private let server: HTTPServer
    private let dropper: ConnectionDropper?
    private let runTask: Task<Void, Never>

    /// Starts the server on 127.0.0.1:0.
    /// - Parameter requireClientCertificate: serve mutual TLS: the handshake demands a certificate
    ///   from this server's CA (see `issueClientCertificate`), and such a request needs no token.
    /// - Parameter allowConnectionDrops: put a relay in front of the listener so `.dropConnection`
    ///   injections can cut a connection after the request was served, and `.closeWithoutAnswer`
    ///   ones without serving it (adds a hop; off by default).
    public static func start(
        requireClientCertificate: Bool = false, allowConnectionDrops: Bool = false, logger: Logger = Logger(label: "kate.kube-test-server")
    ) async throws -> KubeTestServer {
        let ca = try CertificateAuthority.generate(commonName: "kube test CA")
        let leaf = try ca.issue(commonName: "kube-apiserver", dnsNames: ["localhost", "kubernetes.default.svc"], ipAddresses: ["127.0.0.1"])
        let tls = try TLSServerContext(
            certificateChain: .pem(leaf.certificatePEM), privateKey: .pem(leaf.privateKeyPEM),
            clientTrustRoots: requireClientCertificate ? [.pem(ca.certificatePEM)] : [], logger: logger
        )
        let store = ObjectStore()
        let controls = Controls()
        let token = "kate-test-" + UUID().uuidString.lowercased()
        controls.state.withLock { $0.tokens[token] = defaultUser }
        // The listener port is only known after start(), but the handler must exist before; the
        // dropper is created first on its own port and told the upstream port through a box.
        let upstream = UpstreamPort()
        let dropper = allowConnectionDrops ? try ConnectionDropper(upstreamPort: upstream) : nil
        let clientPort = UpstreamPort()
        let handler = APIHandler(
            store: store, controls: controls, clientCertificateUser: requireClientCertificate ? "client-certificate-user" : nil, dropper: dropper,
            port: clientPort
        )
        let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxBodyBytes: 16 << 20, idleTimeout: .seconds(30))
        let server = HTTPServer(configuration: configuration, tls: tls, responder: handler, logger: logger)
        let listenPort = try await server.start()
        upstream.set(listenPort)
        let runTask = Task { await server.run() }
        let port = dropper?.port ?? listenPort
        clientPort.set(port)
        return KubeTestServer(
            url: "https://127.0.0.1:\(port)", port: port, ca: ca, token: token, store: store, controls: controls, server: server, dropper: dropper,
            runTask: runTask
        )
    }

    private init(
        url: String, port: Int, ca: CertificateAuthority, token: String, store: ObjectStore, controls: Controls, server: HTTPServer,
        dropper: ConnectionDropper?, runTask: Task<Void, Never>
    ) {
        self.url = url
        self.port = port
        self.ca = ca
        self.caPEM = ca.certificatePEM
        self.token = token
        self.store = store
        self.controls = controls
        self.server = server
        self.dropper = dropper
        self.runTask = runTask
    }

    /// Stops accepting, closes connections and waits for the server task to end.
    public func stop() async {
        store.history.close()
        await dropper?.stop()
        await server.shutdown(gracePeriod: .seconds(1))
        await runTask.value
    }

    /// A client configuration for this server: its CA as the only trust root, the default bearer
    /// token, fast retries (so retry tests take milliseconds, not seconds).
    public var clientConfiguration: KubeClientConfiguration {
        var configuration = KubeClientConfiguration(
            server: url, tls: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(caPEM)]),
            auth: .token(token), namespace: "default", source: "KubeTestServer \(url)", requestTimeout: .seconds(10),
            retry: RetryPolicy(maxAttempts: 4, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50), maxRetryAfter: .seconds(5))
        )
        configuration.ignoreEnvironmentProxy = true
        return configuration
    }

    /// A client certificate (CN = `user`) signed by this server's CA, for mutual-TLS tests.
    public func issueClientCertificate(user: String) throws -> (certificatePEM: String, privateKeyPEM: String) {
        let issued = try ca.issue(commonName: user, dnsNames: [], usage: .client)
        return (issued.certificatePEM, issued.privateKeyPEM)
    }

    // MARK: - Authentication switches

    /// Accepts `token` as `user` from now on.
    public func addToken(_ token: String, user: String = KubeTestServer.defaultUser) {
        controls.state.withLock { $0.tokens[token] = user }
    }

    /// Stops accepting `token` (the next request with it gets 401).
    public func revokeToken(_ token: String) {
        _ = controls.state.withLock { $0.tokens.removeValue(forKey: token) }
    }

    /// Accepts HTTP basic authentication for `username`.
    public func addBasicUser(_ username: String, password: String) {
        controls.state.withLock { $0.basicUsers[username] = password }
    }

    // MARK: - RBAC, PDB, failures, pagination

    /// Answers 403 (the RBAC authorizer's message) for `verb` on `resource` (`deployments`,
    /// `pods/eviction`) in `namespace` (nil: everywhere).
    public func denyRBAC(verb: String, resource: String, namespace: String? = nil) {
        _ = controls.state.withLock { $0.denials.insert(Denial(verb: verb, resource: resource, namespace: namespace)) }
    }

    public func allowAllRBAC() { controls.state.withLock { $0.denials.removeAll() } }

    /// Evicting this pod answers 429 as if PodDisruptionBudget `pdb` allowed no disruption.
    public func blockEviction(namespace: String, name: String, pdb: String = "default-pdb") {
        controls.state.withLock { $0.evictionBlocked[ObjectStore.key(namespace: namespace, name: name)] = pdb }
    }

    public func unblockEviction(namespace: String, name: String) {
        _ = controls.state.withLock { $0.evictionBlocked.removeValue(forKey: ObjectStore.key(namespace: namespace, name: name)) }
    }

    /// `count` requests whose path starts with `pathPrefix` (and, if given, use `method`) get
    /// `failure` instead of being served; they are still recorded. `when` picks which matching
    /// requests: by default the next ones, `.onCall(n)` from the `n`th on, `.whenContinuing` only
    /// list pages after the first (the query carries `continue`), combinable as
    /// `.whenContinuing.onCall(2)` (page 3). The failing requests are consecutive matching ones.
    public func injectFailure(
        _ failure: InjectedFailure, count: Int = 1, method: String? = nil, pathPrefix: String = "/", when trigger: InjectionTrigger = .next
    ) {
        controls.state.withLock {
            $0.injections.append(.init(method: method, pathPrefix: pathPrefix, remaining: count, failure: failure, trigger: trigger))
        }
    }

    /// The next `count` list requests that carry a `continue` token answer 410 Expired.
    public func expireNextContinueTokens(count: Int = 1) {
        controls.state.withLock { $0.expireContinueRequests += count }
    }

    /// Every continue token issued so far answers 410 from now on (an etcd compaction); so does a
    /// watch from a resourceVersion before the newest change so far.
    public func compact() { store.compact() }

    // MARK: - Watch (see Server/Watch.swift)

    /// Keep only the newest `count` changes for watches (kube-apiserver's watch cache is bounded
    /// too): a watch from before them answers with a 410 Expired ERROR event.
    public func setWatchHistoryLimit(_ count: Int) { store.history.setLimit(count) }

    /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (kube-apiserver: about a minute).
    public func setWatchBookmarkInterval(_ interval: Duration) { store.history.bookmarkInterval = interval }

    /// Cuts every open watch mid-stream (no final chunk), as a restarting apiserver or a load balancer does.
    public func dropWatches() { store.history.dropWatches() }

    // MARK: - The call log

    public var recordedCalls: [RecordedCall] { controls.state.withLock { $0.calls } }

    public func clearRecordedCalls() { controls.state.withLock { $0.calls.removeAll() } }

    /// Turn recording off for bulk loads in benchmarks (the log would hold every page).
    public func setRecording(_ on: Bool) { controls.state.withLock { $0.recording = on } }

    /// The current global resourceVersion (bumped by every write).
    public var resourceVersion: Int { store.currentResourceVersion }
}
