import Metrics
import MetricsTestKit
import RegistryTestSupport
import Testing
@testable import KateNet

@Suite("TLS: hostile and broken clients")
struct TLSBadInputTests {
    /// A TLS record header announcing a 512-byte handshake message, then only part of a ClientHello.
    static let truncatedClientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + Array(repeating: 0xab, count: 20)
    static let payloads: [(String, [UInt8])] = [
        ("plaintext HTTP", Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
        ("random bytes", (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 197 &+ 13) }),
        ("truncated ClientHello", truncatedClientHello),
    ]

    @Test("a bad first flight fails only that handshake; the context serves a good client afterwards",
          arguments: payloads.map(\.0))
    func badFirstFlight(name: String) async throws {
        let payload = try #require(Self.payloads.first { $0.0 == name }?.1)
        let fixture = try NetIOTLSFixture()
        let metrics = TestMetrics()
        let context = try withMetricsFactory(metrics) { try fixture.serverContext() }
        let server = try NetIOTLSEchoServer(context: context)
        let raw = try await TCPStream.connect(host: "127.0.0.1", port: server.port, deadline: NetIOTest.deadline())
        try await raw.write(payload, deadline: NetIOTest.deadline())
        raw.shutdownWrite()  // a truncated hello then EOF: the server must not wait for the rest forever
        // The server answers with an alert (or nothing) and closes: we read to EOF.
        _ = try? await NetIOTest.readAll(raw)
        await raw.close()
        let errors = await server.waitForHandshakeErrors(1)
        let error = try #require(errors.first as? NetError)
        if case .tls = error.kind {} else { Issue.record("expected a TLS error, got \(error)") }
        let failures = try metrics.expectCounter("kate_tls_handshake_failures_total", [("reason", "protocol")])
        #expect(failures.totalValue == 1)

        let good = try await server.connect(fixture.clientContext())
        #expect(good.negotiatedALPN == "http/1.1")
        await good.close()
        await server.stop()
    }

    @Test("32 concurrent clients sending seeded random garbage (some with a valid TLS record header) all fail; good clients still succeed")
    func garbageStorm() async throws {
        let fixture = try NetIOTLSFixture()
        let server = try NetIOTLSEchoServer(context: fixture.serverContext())
        let clients = 32
        await withTaskGroup(of: Void.self) { group in
            for seed in 0..<clients {
                group.addTask {
                    var generator = SplitMix64(seed: UInt64(seed))
                    var payload = (0..<Int.random(in: 1...2000, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    // Every other client looks like a handshake record so OpenSSL parses deeper before failing.
                    if seed % 2 == 0 { payload.replaceSubrange(0..<min(3, payload.count), with: [0x16, 0x03, 0x01]) }
                    guard let raw = try? await TCPStream.connect(host: "127.0.0.1", port: server.port, deadline: NetIOTest.deadline()) else { return }
                    try? await raw.write(payload, deadline: NetIOTest.deadline())
                    raw.shutdownWrite()
                    _ = try? await NetIOTest.readAll(raw)
                    await raw.close()
                }
            }
        }
        let errors = await server.waitForHandshakeErrors(clients)
        #expect(errors.count == clients)
        #expect(server.acceptedStreams.isEmpty, "no garbage client completed a handshake")
        let good = try await server.connect(fixture.clientContext())
        try await good.write([7], deadline: NetIOTest.deadline())
        #expect(try await NetIOTest.readAll(good, atLeast: 1) == [7])
        await good.close()
        await server.stop()
    }

    @Test("a client that connects and closes at once (a TCP health probe) is counted as closed, not as a protocol failure")
    func tcpProbe() async throws {
        let fixture = try NetIOTLSFixture()
        let metrics = TestMetrics()
        let context = try withMetricsFactory(metrics) { try fixture.serverContext() }
        let server = try NetIOTLSEchoServer(context: context)
        let probe = try await TCPStream.connect(host: "127.0.0.1", port: server.port, deadline: NetIOTest.deadline())
        await probe.close()
        let errors = await server.waitForHandshakeErrors(1)
        #expect((errors.first as? NetError)?.kind == .connectionReset, "\(errors)")
        #expect(try metrics.expectCounter("kate_tls_handshake_failures_total", [("reason", "closed")]).totalValue == 1)
        await server.stop()
    }

    @Test("a client that connects and sends nothing times out at the handshake deadline")
    func silentClient() async throws {
        let fixture = try NetIOTLSFixture()
        let metrics = TestMetrics()
        let context = try withMetricsFactory(metrics) { try fixture.serverContext() }
        let server = try NetIOTLSEchoServer(context: context, handshakeTimeout: .milliseconds(200))
        let raw = try await TCPStream.connect(host: "127.0.0.1", port: server.port, deadline: NetIOTest.deadline())
        let eof = try await raw.read(maxBytes: 10, deadline: NetIOTest.deadline())
        #expect(eof.isEmpty, "the server closes the silent connection")
        let errors = await server.waitForHandshakeErrors(1)
        #expect((errors.first as? NetError)?.kind == .timedOut)
        #expect(try metrics.expectCounter("kate_tls_handshake_failures_total", [("reason", "timeout")]).totalValue == 1)
        await raw.close()
        await server.stop()
    }
}

