import Logging
@testable import KateNet

/// A throwaway CA, a serving certificate for localhost/127.0.0.1/::1 and the contexts built
/// from them, as PEM strings (tests that need files write them to a temporary directory).
struct NetHTTPTestTLS: Sendable {
    let authority: CertificateAuthority
    let serving: IssuedCertificate
    let serverContext: TLSServerContext
    let clientContext: TLSClientContext

    static func make() throws -> NetHTTPTestTLS {
        let authority = try CertificateAuthority.generate(commonName: "kate test CA")
        let serving = try authority.issue(commonName: "localhost", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"])
        var logger = Logger(label: "test.tls")
        logger.logLevel = .critical
        let serverContext = try TLSServerContext(certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM), logger: logger)
        let clientContext = try TLSClientContext(configuration: clientConfiguration(authority))
        return NetHTTPTestTLS(authority: authority, serving: serving, serverContext: serverContext, clientContext: clientContext)
    }

    static func clientConfiguration(_ authority: CertificateAuthority) -> TLSClientConfiguration {
        TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(authority.certificatePEM)])
    }
}

extension NetHTTPTestServer.Transport {
    /// The transports server tests run over.
    static let all: [NetHTTPTestServer.Transport] = [.plain, .tls]
}
