import KateNet

/// Everything `KubeClient` needs to reach one API server as one identity. Built by
/// `KubeConfigLoader` (kubeconfig or in-cluster) or by hand (tests, `KubeTestServer`).
public struct KubeClientConfiguration: Sendable {
    /// Base URL without a trailing slash, e.g. `https://10.96.0.1:443` or `https://rancher/k8s/clusters/c-1`.
    public var server: String
    /// Trust roots, client certificate (mTLS), server-name override, insecure mode.
    public var tls: TLSClientConfiguration
    public var auth: KubeAuth
    /// The namespace of the context (kubeconfig) or of the service account (in-cluster); "default" otherwise.
    public var namespace: String
    /// kubeconfig `proxy-url`; when nil the environment's `HTTPS_PROXY`/`NO_PROXY` apply.
    public var proxyURL: String?
    /// Skip `HTTPS_PROXY` from the environment (loopback test servers; a proxy would not reach them).
    public var ignoreEnvironmentProxy: Bool = false
    /// Where this came from, for error messages: `in-cluster (service account kate/kate-sweeper)`,
    /// `kubeconfig /home/me/.kube/config, context prod`.
    public var source: String
    /// Upper bound for one HTTP exchange (connect + request + response).
    public var requestTimeout: Duration
    public var retry: RetryPolicy

    public init(
        server: String, tls: TLSClientConfiguration = .init(), auth: KubeAuth = .none, namespace: String = "default",
        proxyURL: String? = nil, source: String = "explicit configuration", requestTimeout: Duration = .seconds(30),
        retry: RetryPolicy = .init()
    ) {
        var server = server
        while server.hasSuffix("/") { server.removeLast() }
        self.server = server
        self.tls = tls
        self.auth = auth
        self.namespace = namespace
        self.proxyURL = proxyURL
        self.source = source
        self.requestTimeout = requestTimeout
        self.retry = retry
    }
}

/// How requests prove who they are (client certificates live in `tls`).
public enum KubeAuth: Sendable, Equatable {
    case none
    /// A static bearer token.
    case token(String)
    /// A bearer token read from a file that may be rotated (projected service-account tokens are
    /// swapped via symlink about hourly); re-read when the file changes, at least every minute,
    /// and after a 401.
    case tokenFile(String)
    case basic(username: String, password: String)
    /// A client-go credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`).
    case exec(ExecConfig)
}

/// The kubeconfig `users[].user.exec` stanza.
public struct ExecConfig: Sendable, Equatable {
    /// `client.authentication.k8s.io/v1` or `…/v1beta1`; the plugin must answer with the same.
    public var apiVersion: String
    /// Absolute, relative to the kubeconfig (already resolved), or looked up in PATH.
    public var command: String
    public var args: [String]
    public var env: [EnvVar]
    /// Shown when the command is missing ("Install gke-gcloud-auth-plugin: https://…").
    public var installHint: String?
    /// Pass the cluster (server, CA) to the plugin in `KUBERNETES_EXEC_INFO`.
    public var provideClusterInfo: Bool
    /// `Never`, `IfAvailable` or `Always`. kate never has a terminal, so `Always` cannot work.
    public var interactiveMode: String?
    /// The cluster handed over when `provideClusterInfo` is set.
    public var cluster: ClusterInfo?

    public struct EnvVar: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct ClusterInfo: Sendable, Equatable {
        public var server: String
        public var certificateAuthorityData: String?
        public var tlsServerName: String?
        public var insecureSkipTLSVerify: Bool
        public var proxyURL: String?
    }

    public init(
        apiVersion: String = "client.authentication.k8s.io/v1", command: String, args: [String] = [], env: [EnvVar] = [],
        installHint: String? = nil, provideClusterInfo: Bool = false, interactiveMode: String? = nil, cluster: ClusterInfo? = nil
    ) {
        self.apiVersion = apiVersion
        self.command = command
        self.args = args
        self.env = env
        self.installHint = installHint
        self.provideClusterInfo = provideClusterInfo
        self.interactiveMode = interactiveMode
        self.cluster = cluster
    }
}
