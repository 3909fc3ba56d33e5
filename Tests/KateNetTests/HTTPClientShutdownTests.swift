import Testing

@testable import KateNet

/// Regression: `kate sweep` exited with SIGSEGV after printing its report in about one run in ten
/// when it never needed TLS (a plain-HTTP registry): the client's TLS context was still loading the
/// system trust store on its own thread when the process exited, and exit's atexit handlers freed
/// OpenSSL's state under it. `shutdown()` now waits for that load to end.
@Suite("HTTPClient shutdown")
struct HTTPClientShutdownTests {
    @Test("shutdown returns only after the background TLS load has ended")
    func shutdownWaitsForTheTLSLoad() async throws {
        // A configuration no other test uses, so its loader is new (loaders are shared per
        // configuration) and still busy with the system bundle when shutdown is called.
        let ca = try CertificateAuthority.generate(commonName: "shutdown regression CA")
        let client = HTTPClient(configuration: .init(tls: TLSClientConfiguration(useSystemTrustStore: true, additionalTrustRoots: [.pem(ca.certificatePEM)])))
        await client.shutdown()
        #expect(client.connector.tls.isLoaded)
    }
}
