import Testing
@testable import KateNet

@Suite("TLS: handshakes and protocol policy")
struct TLSHandshakeTests {
    @Test("kate client ↔ kate server: TLS 1.3, ALPN http/1.1, data both ways", arguments: [CertificateAuthority.KeyType.ecdsaP256, .rsa2048])
    func ownClientAndServer(keyType: CertificateAuthority.KeyType) async throws {
        let fixture = try NetIOTLSFixture(keyType: keyType)
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let client = try await server.connect(fixture.clientContext())
        #expect(client.protocolVersion == "TLSv1.3")
        #expect(client.negotiatedALPN == "http/1.1")
        #expect(client.peerCertificateSubject == "CN=localhost,O=kate")
        let message = Array("ping over TLS".utf8)
        try await client.write(message, deadline: NetIOTest.deadline())
        let echoed = try await NetIOTest.readAll(client, atLeast: message.count)
        #expect(echoed == message)
        let serverSide = try #require(server.acceptedStreams.first)
        #expect(serverSide.negotiatedALPN == "http/1.1")
        await client.close()
        await server.stop()
    }

    @Test("a large write crosses many TLS records and reactor waits intact")
    func largeTransfer() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let client = try await server.connect(fixture.clientContext())
        let payload = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        async let written: Void = client.write(payload, deadline: NetIOTest.deadline(30))
        let echoed = try await NetIOTest.readAll(client, atLeast: payload.count, deadline: NetIOTest.deadline(30))
        try await written
        #expect(echoed == payload)
        await client.close()
        await server.stop()
    }

    @Test("openssl s_client offering h2,http/1.1 gets http/1.1 and verifies the chain", arguments: [CertificateAuthority.KeyType.ecdsaP256, .rsa2048])
    func opensslClientALPN(keyType: CertificateAuthority.KeyType) async throws {
        let fixture = try NetIOTLSFixture(keyType: keyType)
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let caFile = try directory.write("ca.pem", fixture.authority.certificatePEM)
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let (_, output) = try await runOpenSSL(
            ["s_client", "-connect", "127.0.0.1:\(server.port)", "-alpn", "h2,http/1.1", "-servername", "localhost",
             "-CAfile", caFile, "-verify_hostname", "localhost", "-verify_return_error"],
            input: "hello from s_client\n")
        #expect(output.contains("ALPN protocol: http/1.1"), "\(output)")
        #expect(output.contains("TLSv1.3"), "\(output)")
        #expect(output.contains("Verify return code: 0 (ok)"), "\(output)")
        #expect(server.handshakeErrors.isEmpty)
        await server.stop()
    }

    @Test("a client offering only h2 is served without ALPN; a client offering none is served")
    func alpnFallbacks() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let h2Only = try await server.connect(fixture.clientContext { $0.alpnProtocols = ["h2"] })
        #expect(h2Only.negotiatedALPN == nil)
        let none = try await server.connect(fixture.clientContext { $0.alpnProtocols = [] })
        #expect(none.negotiatedALPN == nil)
        try await none.write([1, 2, 3], deadline: NetIOTest.deadline())
        #expect(try await NetIOTest.readAll(none, atLeast: 3) == [1, 2, 3])
        await h2Only.close()
        await none.close()
        await server.stop()
    }

    /// OpenSSL 3's own client refuses TLS 1.0/1.1 at its default security level, which would make this test
    /// pass without reaching the server: `@SECLEVEL=0` makes s_client really offer the old version.
    @Test("TLS 1.0 and 1.1 clients are refused by the server", arguments: ["-tls1", "-tls1_1"])
    func oldProtocolsRefused(flag: String) async throws {
        let fixture = try NetIOTLSFixture(keyType: .rsa2048)
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let (status, output) = try await runOpenSSL(
            ["s_client", "-connect", "127.0.0.1:\(server.port)", flag, "-cipher", "DEFAULT:@SECLEVEL=0"], input: "x\n")
        #expect(status != 0, "\(output)")
        #expect(!output.contains("Cipher is ECDHE"), "\(output)")
        let errors = await server.waitForHandshakeErrors(1)
        let reason = try #require(errors.first as? NetError)
        guard case .tls(let text) = reason.kind else { Issue.record("expected a TLS error, got \(reason)"); return }
        #expect(text.contains("protocol"), "\(text)")
        await server.stop()
    }

    @Test("TLS 1.2 with ECDHE+AEAD is accepted; CBC and static-RSA suites are refused",
          arguments: [("ECDHE-RSA-AES128-GCM-SHA256", true), ("ECDHE-RSA-CHACHA20-POLY1305", true),
                      ("ECDHE-RSA-AES128-SHA256", false), ("AES128-GCM-SHA256", false), ("ECDHE-RSA-AES256-SHA", false)])
    func tls12Ciphers(cipher: String, accepted: Bool) async throws {
        let fixture = try NetIOTLSFixture(keyType: .rsa2048)
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let (_, output) = try await runOpenSSL(
            ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_2", "-cipher", cipher], input: "x\n")
        if accepted {
            #expect(output.contains("Cipher is \(cipher)"), "\(output)")
            #expect(server.handshakeErrors.isEmpty)
        } else {
            #expect(!output.contains("Cipher is \(cipher)"), "\(output)")
            let errors = await server.waitForHandshakeErrors(1)
            #expect(errors.count == 1)
        }
        await server.stop()
    }
}
