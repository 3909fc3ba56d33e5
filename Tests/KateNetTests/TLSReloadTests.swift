import Metrics
import MetricsTestKit
import Testing
@testable import KateNet

@Suite("TLS: serving-certificate hot reload")
struct TLSReloadTests {
    @Test("a Secret-volume symlink swap is picked up by the watcher: new handshakes get the new cert, open connections keep working")
    func symlinkSwap() async throws {
        let authority = try CertificateAuthority.generate()
        let first = try authority.issue(commonName: "kate-v1", dnsNames: ["localhost"])
        let second = try authority.issue(commonName: "kate-v2", dnsNames: ["localhost"])
        var volume = try NetIOSecretVolume(certificatePEM: first.certificatePEM, keyPEM: first.privateKeyPEM)
        defer { volume.remove() }
        let metrics = TestMetrics()
        let context = try withMetricsFactory(metrics) {
            try TLSServerContext(certificateChain: .file(volume.certificatePath), privateKey: .file(volume.keyPath), logger: NetIOTLSFixture.quietLogger)
        }
        let server = try NetIOTLSEchoServer(context: context)
        let client = try TLSClientContext(configuration: .init(useSystemTrustStore: false, additionalTrustRoots: [.pem(authority.certificatePEM)]))
        let before = try await server.connect(client)
        #expect(before.peerCertificateSubject == "CN=kate-v1,O=kate")
        #expect(context.reloadIfChanged() == false, "nothing changed yet")

        context.startWatching(every: .milliseconds(20))
        defer { context.stopWatching() }
        try volume.publish(certificatePEM: second.certificatePEM, keyPEM: second.privateKeyPEM)
        #expect(await NetIOTest.eventually { context.reloadCount == 1 })

        let after = try await server.connect(client)
        #expect(after.peerCertificateSubject == "CN=kate-v2,O=kate")
        #expect(context.certificateSubject == "CN=kate-v2,O=kate")
        // The connection opened before the swap still works on its original session.
        try await before.write(Array("still here".utf8), deadline: NetIOTest.deadline())
        #expect(try await NetIOTest.readAll(before, atLeast: 10) == Array("still here".utf8))
        #expect(try metrics.expectCounter("kate_tls_certificate_reloads_total", [("result", "success")]).totalValue == 1)
        await before.close()
        await after.close()
        await server.stop()
    }

    @Test("a broken replacement keeps the old certificate serving, is counted as a failure, and is retried when fixed",
          arguments: ["mismatched key", "garbage certificate"])
    func brokenReplacement(breakage: String) async throws {
        let authority = try CertificateAuthority.generate()
        let good = try authority.issue(commonName: "kate-good", dnsNames: ["localhost"])
        let other = try authority.issue(commonName: "kate-other", dnsNames: ["localhost"])
        let fixed = try authority.issue(commonName: "kate-fixed", dnsNames: ["localhost"])
        var volume = try NetIOSecretVolume(certificatePEM: good.certificatePEM, keyPEM: good.privateKeyPEM)
        defer { volume.remove() }
        let metrics = TestMetrics()
        let context = try withMetricsFactory(metrics) {
            try TLSServerContext(certificateChain: .file(volume.certificatePath), privateKey: .file(volume.keyPath), logger: NetIOTLSFixture.quietLogger)
        }
        if breakage == "mismatched key" {
            try volume.publish(certificatePEM: other.certificatePEM, keyPEM: good.privateKeyPEM)
        } else {
            try volume.publish(certificatePEM: "-----BEGIN CERTIFICATE-----\nnot base64 at all\n", keyPEM: good.privateKeyPEM)
        }
        #expect(context.reloadIfChanged() == false)
        #expect(context.reloadCount == 0)
        #expect(context.reloadIfChanged() == false, "the same broken files are not retried every poll")
        #expect(try metrics.expectCounter("kate_tls_certificate_reloads_total", [("result", "failure")]).totalValue == 1)

        let server = try NetIOTLSEchoServer(context: context)
        let client = try TLSClientContext(configuration: .init(useSystemTrustStore: false, additionalTrustRoots: [.pem(authority.certificatePEM)]))
        let stream = try await server.connect(client)
        #expect(stream.peerCertificateSubject == "CN=kate-good,O=kate")
        await stream.close()

        try volume.publish(certificatePEM: fixed.certificatePEM, keyPEM: fixed.privateKeyPEM)
        #expect(context.reloadIfChanged() == true)
        #expect(context.reloadCount == 1)
        let repaired = try await server.connect(client)
        #expect(repaired.peerCertificateSubject == "CN=kate-fixed,O=kate")
        await repaired.close()
        await server.stop()
    }

    @Test("in-place rewrites of plain files (no symlinks) are noticed too")
    func plainFileRewrite() async throws {
        let authority = try CertificateAuthority.generate()
        let first = try authority.issue(commonName: "plain-v1", dnsNames: ["localhost"])
        let second = try authority.issue(commonName: "plain-v2", dnsNames: ["localhost"])
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let certificate = try directory.write("tls.crt", first.certificatePEM)
        let key = try directory.write("tls.key", first.privateKeyPEM)
        let context = try TLSServerContext(certificateChain: .file(certificate), privateKey: .file(key), logger: NetIOTLSFixture.quietLogger)
        _ = try directory.write("tls.crt", second.certificatePEM)
        _ = try directory.write("tls.key", second.privateKeyPEM)
        #expect(context.reloadIfChanged())
        #expect(context.certificateSubject == "CN=plain-v2,O=kate")
    }

    @Test("an in-memory certificate never reloads")
    func inMemoryNeverReloads() throws {
        let context = try NetIOTLSFixture().serverContext()
        #expect(context.reloadIfChanged() == false)
        #expect(context.reloadCount == 0)
    }

    @Test("a key that does not match the certificate is a clear start-up error naming both files")
    func keyCertificateMismatch() throws {
        let authority = try CertificateAuthority.generate()
        let one = try authority.issue(commonName: "one", dnsNames: ["localhost"])
        let two = try authority.issue(commonName: "two", dnsNames: ["localhost"], keyType: .rsa2048)
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let certificate = try directory.write("tls.crt", one.certificatePEM)
        let key = try directory.write("tls.key", two.privateKeyPEM)
        let error = #expect(throws: TLSConfigurationError.self) {
            _ = try TLSServerContext(certificateChain: .file(certificate), privateKey: .file(key), logger: NetIOTLSFixture.quietLogger)
        }
        #expect(error?.message == "private key \(key) does not match certificate \(certificate)")
        #expect(error?.kind == .keyMismatch)
        // OpenSSL's own reasons are kept as entries, and end the description.
        #expect(error?.openSSLErrors.isEmpty == false)
        #expect(error.map { String(describing: $0).hasPrefix($0.message + ": error:") } == true, "\(String(describing: error))")
    }

    @Test("missing and non-PEM files are errors that name the file")
    func unreadableFiles() throws {
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let junk = try directory.write("junk.crt", "hello")
        let missing = directory.path + "/missing.key"
        let notPEM = #expect(throws: TLSConfigurationError.self) {
            _ = try TLSServerContext(certificateChain: .file(junk), privateKey: .file(junk), logger: NetIOTLSFixture.quietLogger)
        }
        #expect(notPEM?.message.contains(junk) == true)
        #expect(notPEM?.kind == .notPEM)
        let fixture = try NetIOTLSFixture()
        let absent = #expect(throws: TLSConfigurationError.self) {
            _ = try TLSServerContext(certificateChain: .pem(fixture.serving.certificatePEM), privateKey: .file(missing), logger: NetIOTLSFixture.quietLogger)
        }
        #expect(absent?.message.contains("cannot read private key \(missing): No such file or directory") == true, "\(String(describing: absent))")
        #expect(absent?.kind == .unreadableFile)
        #expect(absent?.cause?.errno == 2)  // ENOENT
    }
}
