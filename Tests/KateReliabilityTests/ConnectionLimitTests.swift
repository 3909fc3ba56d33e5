import Foundation
import KateNet
import Testing

extension Reliability {
    /// The webhook at `--max-connections`. Excess connections must be shed at once (the
    /// apiserver retries elsewhere), the server must recover as soon as connections close — and
    /// the kubelet's `/healthz` probe, which opens a new connection every period, must still get
    /// through, or kate is restarted exactly when it is busiest.
    @Suite("At the connection limit", .timeLimit(.minutes(1)))
    struct ConnectionLimitTests {
        struct Rig {
            let ca: CertificateAuthority
            let server: HTTPServer
            let runTask: Task<Void, Never>
            let port: Int

            static func start(maxConnections: Int, probeReserve: Int = 16) async throws -> Rig {
                let ca = try CertificateAuthority.generate(commonName: "reliability CA")
                let leaf = try ca.issue(commonName: "kate", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
                let tls = try TLSServerContext(
                    certificateChain: .pem(leaf.certificatePEM), privateKey: .pem(leaf.privateKeyPEM), logger: Reliability.quietLogger)
                let server = HTTPServer(
                    configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, maxConnections: maxConnections, probeReserve: probeReserve), tls: tls,
                    responder: ClosureResponder { _, _ in .text(200, "ok") }, logger: Reliability.quietLogger)
                let port = try await server.start()
                return Rig(ca: ca, server: server, runTask: Task { await server.run() }, port: port)
            }

            /// A TLS connection that completed its handshake and one request, then stays idle.
            func holdConnection() async throws -> TLSStream {
                let context = try TLSClientContext(configuration: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(ca.certificatePEM)]))
                let deadline = ContinuousClock.now + .seconds(5)
                let tcp = try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: deadline)
                let tls = try await TLSStream.connect(tcp, context: context, serverName: "localhost", deadline: deadline)
                try await tls.write(Array("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8), deadline: deadline)
                var received: [UInt8] = []
                while !String(decoding: received, as: UTF8.self).hasSuffix("ok\n") {
                    let chunk = try await tls.read(maxBytes: 4096, deadline: deadline)
                    if chunk.isEmpty { break }
                    received += chunk
                }
                return tls
            }

            func stop() async {
                await server.shutdown(gracePeriod: .milliseconds(200))
                await runTask.value
            }
        }

        @Test("past the limit and its probe reserve a new connection is shed at once, and served again once a slot frees up")
        func shedsThenRecovers() async throws {
            let rig = try await Rig.start(maxConnections: 4, probeReserve: 0)
            var held: [TLSStream] = []
            for _ in 0..<4 { held.append(try await rig.holdConnection()) }

            let started = ContinuousClock.now
            await #expect(throws: (any Error).self) { _ = try await rig.holdConnection() }
            #expect(ContinuousClock.now - started < .seconds(1), "shedding took \(ContinuousClock.now - started)")

            await held.removeLast().close()
            // The server learns of the close through its reactor, a moment later: retry for up to 1 s.
            var served = false
            for _ in 0..<50 where !served {
                served = (try? await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM))?.status == 200
                if !served { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(served, "no connection was served after a slot freed up")
            for stream in held { await stream.close() }
            await rig.stop()
        }

        @Test("a /healthz probe on a new connection still gets through when every slot is taken")
        func healthProbeAtTheLimit() async throws {
            let rig = try await Rig.start(maxConnections: 4)
            var held: [TLSStream] = []
            for _ in 0..<4 { held.append(try await rig.holdConnection()) }
            let probe = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM)
            #expect(probe.status == 200)
            // The reserve is for probes only: real work on such a connection is shed with 503.
            let work = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM, path: "/mutate")
            #expect(work.status == 503)
            for stream in held { await stream.close() }
            await rig.stop()
        }
    }
}
