import Testing
@testable import KateNet

@Suite("TLS: certificate verification and mutual TLS")
struct TLSVerificationTests {
    func handshakeFailure(_ body: () async throws -> TLSStream) async -> NetError? {
        do {
            let stream = try await body()
            await stream.close()
            return nil
        } catch {
            return error as? NetError
        }
    }

    @Test("our client refuses a certificate for another host name")
    func hostnameMismatch() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let client = try fixture.clientContext()
        let error = await handshakeFailure { try await server.connect(client, serverName: "registry.example.com") }
        #expect(error?.kind == .tls("certificate verify failed: hostname mismatch"), "\(String(describing: error))")
        #expect(error?.message.contains("registry.example.com") == true)
        await server.stop()
    }

    @Test("an IP literal is verified against IP SANs (and not sent as SNI)")
    func ipAddressSAN() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let client = try fixture.clientContext()
        let good = try await server.connect(client, serverName: "127.0.0.1")
        #expect(good.protocolVersion == "TLSv1.3")
        await good.close()
        let error = await handshakeFailure { try await server.connect(client, serverName: "127.0.0.2") }
        #expect(error?.kind == .tls("certificate verify failed: IP address mismatch"), "\(String(describing: error))")
        await server.stop()
    }

    @Test("serverNameOverride (kubeconfig tls-server-name) is what gets verified and sent as SNI")
    func serverNameOverride() async throws {
        let authority = try CertificateAuthority.generate()
        let serving = try authority.issue(commonName: "apiserver", dnsNames: ["kubernetes.default.svc"])
        let context = try TLSServerContext(
            certificateChain: .pem(serving.certificatePEM), privateKey: .pem(serving.privateKeyPEM), logger: NetIOTLSFixture.quietLogger)
        let server = try NetIOTLSEchoServer(context: context)
        let roots: [PEMSource] = [.pem(authority.certificatePEM)]
        let plain = try TLSClientContext(configuration: .init(useSystemTrustStore: false, additionalTrustRoots: roots))
        let error = await handshakeFailure { try await server.connect(plain, serverName: "127.0.0.1") }
        #expect(error?.kind == .tls("certificate verify failed: IP address mismatch"), "\(String(describing: error))")
        let overridden = try TLSClientContext(
            configuration: .init(useSystemTrustStore: false, additionalTrustRoots: roots, serverNameOverride: "kubernetes.default.svc"))
        let stream = try await server.connect(overridden, serverName: "127.0.0.1")
        #expect(stream.peerCertificateSubject == "CN=apiserver,O=kate")
        await stream.close()
        await server.stop()
    }

    @Test("an untrusted CA is refused unless insecure mode is explicitly on")
    func untrustedAndInsecure() async throws {
        let fixture = try NetIOTLSFixture()
        let stranger = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let error = await handshakeFailure { try await server.connect(stranger.clientContext()) }
        #expect(error?.kind == .tls("certificate verify failed: unable to get local issuer certificate"), "\(String(describing: error))")
        let insecure = try await server.connect(stranger.clientContext { $0.insecureSkipVerify = true }, serverName: "wrong.example")
        #expect(insecure.negotiatedALPN == "http/1.1")
        await insecure.close()
        await server.stop()
    }

    @Test("system trust store plus an extra CA file loads; the extra CA is honoured")
    func systemStorePlusExtraFile() async throws {
        let fixture = try NetIOTLSFixture()
        let directory = try NetIOTemporaryDirectory()
        defer { directory.remove() }
        let caFile = try directory.write("ca.pem", fixture.authority.certificatePEM)
        let client = try TLSClientContext(configuration: .init(useSystemTrustStore: true, additionalTrustRoots: [.file(caFile)]))
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let stream = try await server.connect(client)
        #expect(stream.protocolVersion == "TLSv1.3")
        await stream.close()
        await server.stop()
    }

    @Test("mutual TLS: a client certificate from the trusted CA is accepted and seen by the server")
    func mutualTLSAccepted() async throws {
        let fixture = try NetIOTLSFixture()
        let clientCertificate = try fixture.authority.issue(commonName: "kate-client", dnsNames: [], usage: .client)
        let server = try NetIOTLSEchoServer(context: fixture.serverContext(clientTrustRoots: [.pem(fixture.authority.certificatePEM)]))
        let client = try fixture.clientContext {
            $0.clientCertificate = .pem(clientCertificate.certificatePEM)
            $0.clientPrivateKey = .pem(clientCertificate.privateKeyPEM)
        }
        let stream = try await server.connect(client)
        try await stream.write([42], deadline: NetIOTest.deadline())
        #expect(try await NetIOTest.readAll(stream, atLeast: 1) == [42])
        #expect(server.acceptedStreams.first?.peerCertificateSubject == "CN=kate-client,O=kate")
        await stream.close()
        await server.stop()
    }

    @Test("mutual TLS: a server that requires a client certificate refuses a client without one")
    func mutualTLSRequired() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext(clientTrustRoots: [.pem(fixture.authority.certificatePEM)]))
        // In TLS 1.3 the client finishes its handshake before the server checks its certificate; the
        // refusal then arrives as an alert on the first read.
        do {
            let stream = try await server.connect(fixture.clientContext())
            let bytes = try await stream.read(maxBytes: 10, deadline: NetIOTest.deadline())
            #expect(bytes.isEmpty, "the server must not echo for an unauthenticated client")
            await stream.close()
        } catch {
            #expect(error is NetError)
        }
        let errors = await server.waitForHandshakeErrors(1)
        let serverError = try #require(errors.first as? NetError)
        #expect(serverError.message.contains("peer did not return a certificate"), "\(serverError)")
        await server.stop()
    }

    @Test("a client certificate without its key is a configuration error")
    func clientCertificateWithoutKey() throws {
        let fixture = try NetIOTLSFixture()
        #expect(throws: TLSConfigurationError.self) {
            _ = try fixture.clientContext { $0.clientCertificate = .pem(fixture.serving.certificatePEM) }
        }
    }
}
