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
        let context = try SSLContext(server: false)
        let ctx = context.pointer
        if configuration.useSystemTrustStore {
            if let bundle = Self.systemBundles.first(where: { access($0, R_OK) == 0 }) {
                try context.check(SSL_CTX_load_verify_locations(ctx, bundle, nil) == 1, "cannot load system CA bundle \(bundle)")
            } else {
                try context.check(SSL_CTX_set_default_verify_paths(ctx) == 1, "cannot load the system CA store")
            }
        }
        for root in configuration.additionalTrustRoots {
            try context.trust(PEMMaterial.load(root, what: "CA certificate"))
        }
        switch (configuration.clientCertificate, configuration.clientPrivateKey) {
        case (let certificate?, let key?):
            try context.useIdentity(
                chain: PEMMaterial.load(certificate, what: "client certificate"), key: PEMMaterial.load(key, what: "client key"))
        case (nil, nil):
            break
        default:
            throw TLSConfigurationError("a client certificate needs both the certificate and its private key")
        }
        SSL_CTX_set_verify(ctx, configuration.insecureSkipVerify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        if !configuration.alpnProtocols.isEmpty {
            let wire = try Self.alpnWireFormat(configuration.alpnProtocols)
            // Unlike the rest of libssl, 0 means success here.
            try context.check(SSL_CTX_set_alpn_protos(ctx, wire, UInt32(wire.count)) == 0, "cannot set ALPN protocols")
        }
        self.context = context
    }

    /// RFC 7301 protocol list: each name prefixed by its length.
    static func alpnWireFormat(_ protocols: [String]) throws -> [UInt8] {
        var wire: [UInt8] = []
        for name in protocols {
            let bytes = Array(name.utf8)
            guard (1...255).contains(bytes.count) else { throw TLSConfigurationError("invalid ALPN protocol name \"\(name)\"") }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        return wire
    }
}
