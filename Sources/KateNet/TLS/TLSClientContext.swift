#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

/// The client side of kate's TLS (registry and Kubernetes API clients): trust roots, an optional client
/// certificate, ALPN. Built once and shared by every connection of a client.
///
/// Verification is on unless `insecureSkipVerify` is set: the chain must lead to a trusted root and the
/// certificate must name the host (DNS SAN, or IP SAN for an IP literal) — see `TLSStream.connect`.
///
/// > Note: reads the trust store and PEM files (blocking disk I/O): build it once, off the hot path.
public final class TLSClientContext: Sendable {
    let context: SSLContext
    public let configuration: TLSClientConfiguration

    /// Where Linux distributions keep the system CA bundle; the first that exists is used.
    static let systemBundles = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"]

    /// - Throws: `TLSConfigurationError` naming the unreadable or invalid CA / client certificate file.
    public init(configuration: TLSClientConfiguration) throws {
        self.configuration = configuration
        var settings = SSLContextConfiguration(role: .client)
        if configuration.useSystemTrustStore {
            settings.systemTrust = Self.systemBundles.first(where: { access($0, R_OK) == 0 }).map { .bundle(path: $0) } ?? .defaultPaths
        }
        settings.trustRoots = try configuration.additionalTrustRoots.map { try PEMMaterial.load($0, what: "CA certificate") }
        switch (configuration.clientCertificate, configuration.clientPrivateKey) {
        case (let certificate?, let key?):
            settings.identity = .init(
                chain: try PEMMaterial.load(certificate, what: "client certificate"), key: try PEMMaterial.load(key, what: "client key"))
        case (nil, nil):
            break
        default:
            throw TLSConfigurationError(.invalidArgument, "a client certificate needs both the certificate and its private key")
        }
        settings.peerVerification = configuration.insecureSkipVerify ? .none : .verifyPeer
        settings.alpnOffer = configuration.alpnProtocols
        self.context = try SSLContext(settings)
    }
}
