/// Where PEM material comes from: a file path (re-read on reload) or bytes in memory.
public enum PEMSource: Sendable, Equatable {
    case file(String)
    case pem(String)
}

/// Client-side TLS settings, shared by the registry and Kubernetes clients.
public struct TLSClientConfiguration: Sendable, Equatable {
    /// Trust the system CA store (`/etc/ssl/certs`). On by default.
    public var useSystemTrustStore: Bool = true
    /// Extra trusted CAs (a registry's private CA, the cluster CA).
    public var additionalTrustRoots: [PEMSource] = []
    /// Client certificate chain and key for mutual TLS (kubeconfig client-certificate/-key).
    public var clientCertificate: PEMSource?
    public var clientPrivateKey: PEMSource?
    /// Verify against this name instead of the URL host (kubeconfig `tls-server-name`). Also sent as SNI.
    public var serverNameOverride: String?
    /// Skip certificate and hostname verification. Explicit only; callers log it loudly.
    public var insecureSkipVerify: Bool = false
    /// ALPN protocols to offer. kate's clients speak HTTP/1.1 only.
    public var alpnProtocols: [String] = ["http/1.1"]

    public init(
        useSystemTrustStore: Bool = true,
        additionalTrustRoots: [PEMSource] = [],
        clientCertificate: PEMSource? = nil,
        clientPrivateKey: PEMSource? = nil,
        serverNameOverride: String? = nil,
        insecureSkipVerify: Bool = false,
        alpnProtocols: [String] = ["http/1.1"]
    ) {
        self.useSystemTrustStore = useSystemTrustStore
        self.additionalTrustRoots = additionalTrustRoots
        self.clientCertificate = clientCertificate
        self.clientPrivateKey = clientPrivateKey
        self.serverNameOverride = serverNameOverride
        self.insecureSkipVerify = insecureSkipVerify
        self.alpnProtocols = alpnProtocols
    }
}
