import Logging

/// A throwaway CA and a serving certificate signed by it, for `kate webhook --self-signed`: a
/// newcomer can run the server with no files, and point curl (or a webhook configuration's
/// `caBundle`) at the CA.
public struct SelfSignedServing: Sendable {
    public let authority: CertificateAuthority
    public let serving: IssuedCertificate
    public let dnsNames: [String]
    public let ipAddresses: [String]

    /// - Parameters:
    ///   - dnsNames: SAN DNS names; the apiserver verifies `<service>.<namespace>.svc`.
    ///   - ipAddresses: SAN IP addresses (127.0.0.1 and ::1 let `curl https://127.0.0.1:8443` verify).
    public init(dnsNames: [String], ipAddresses: [String] = ["127.0.0.1", "::1"], validFor: Duration = .seconds(365 * 86400)) throws {
        self.authority = try CertificateAuthority.generate(commonName: "kate self-signed CA")
        self.serving = try authority.issue(
            commonName: dnsNames.first ?? "localhost", dnsNames: dnsNames, ipAddresses: ipAddresses, validFor: validFor, usage: .server)
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
    }

    /// The TLS server context serving the certificate from memory.
    public func makeContext(logger: Logger) throws -> TLSServerContext {
        try TLSServerContext(certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM), logger: logger)
    }
}
