import Foundation
import Synchronization
import Testing
@testable import KateNet

@Suite("HTTP server over TLS: bad input, curl, certificate reload")
struct ServerTLSTests {
    static let clientHelloPrefix: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03] + Array(repeating: 0x42, count: 20)

    @Test("garbage on the TLS port fails that connection only", arguments: [
        ("plaintext HTTP", Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)),
        ("random bytes", (0..<600).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) }),
        ("truncated ClientHello", clientHelloPrefix),
    ])
    func garbage(name: String, bytes: [UInt8]) async throws {
        let configuration = HTTPServerConfiguration(handshakeTimeout: .milliseconds(800))
        try await NetHTTPTestServer.with(.tls, configuration: configuration) { server in
            // A request first: the good connection then waits under the idle timeout, not the
            // (shorter) timeout for a connection's first request.
            let good = try await server.connect()
            #expect(try await good.get("/healthz").status == 200)
            let bad = try await server.connectTCP()
            try await bad.send(bytes)
            #expect(await bad.isClosedByServer(within: .seconds(30)), "\(name): the server closed the connection")
            for _ in 0..<5 { #expect(try await good.get("/healthz").status == 200) }
            #expect(try await server.connect().get("/healthz").status == 200, "new connections still work")
            await good.close()
        }
    }

    @Test("curl --cacert gets 200 from /healthz, and --http2 negotiates http/1.1")
    func curl() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        try await NetHTTPTestServer.with(.tls) { server in
            let tls = try #require(server.tls)
            let caPath = directory + "/ca.pem"
            try NetHTTPFiles.write(tls.authority.certificatePEM, to: caPath)
            let plain = try await Self.run("/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", caPath, "https://127.0.0.1:\(server.port)/healthz"])
            #expect(plain.status == 0, "\(plain.stderr)")
            #expect(plain.stdout == "ok\n")

            let h2 = try await Self.run("/usr/bin/curl", ["-sS", "-v", "--http2", "--max-time", "10", "--cacert", caPath, "https://localhost:\(server.port)/healthz"])
            #expect(h2.status == 0, "\(h2.stderr)")
            #expect(h2.stdout == "ok\n")
            #expect(h2.stderr.contains("ALPN: server accepted http/1.1") || h2.stderr.contains("ALPN, server accepted to use http/1.1"), "\(h2.stderr)")
            #expect(h2.stderr.contains("< HTTP/1.1 200"))
        }
    }

    @Test("certificate replaced on disk: new connections get it within seconds, zero failed requests")
    func certificateReload() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        let certificatePath = directory + "/tls.crt", keyPath = directory + "/tls.key"
        let tls = try NetHTTPTestTLS.make(files: (certificatePath, keyPath))
        tls.serverContext.startWatching(every: .milliseconds(100))
        defer { tls.serverContext.stopWatching() }
        try await NetHTTPTestServer.with(.tls, tls: tls) { server in
            let oldSubject = try await Self.servedSubject(server)
            let results = NetHTTPTally()
            let stop = OneShotEvent()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        while !stop.hasFired {
                            do {
                                let connection = try await server.connect()
                                let status = try await connection.get("/healthz", headers: "Connection: close\r\n").status
                                await connection.close()
                                results.record(status == 200 ? nil : "status \(status)")
                            } catch {
                                results.record("\(error)")
                            }
                        }
                    }
                }
                let replacement = try tls.authority.issue(commonName: "localhost-rotated", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
                try NetHTTPFiles.write(replacement.privateKeyPEM, to: keyPath)
                try NetHTTPFiles.write(replacement.certificatePEM, to: certificatePath)
                let replacedAt = ContinuousClock.now
                var subject = oldSubject
                while subject == oldSubject, ContinuousClock.now - replacedAt < .seconds(10) {
                    subject = try await Self.servedSubject(server)
                }
                #expect(subject.contains("localhost-rotated"), "served \(subject)")
                #expect(ContinuousClock.now - replacedAt < .seconds(10))
                stop.fire()
                try await group.waitForAll()
            }
            let (ok, failed) = results.snapshot
            #expect(failed.isEmpty, "failures during rotation: \(failed.prefix(3))")
            #expect(ok > 0)
            #expect(tls.serverContext.reloadCount >= 1)
        }
    }

    private static func servedSubject(_ server: NetHTTPTestServer) async throws -> String {
        let connection = try await server.connect()
        defer { Task { await connection.close() } }
        let tlsStream = try #require(connection.stream as? TLSStream)
        await connection.close()
        return tlsStream.peerCertificateSubject ?? ""
    }

    /// Runs a process to completion off the cooperative pool; returns exit status and output.
    static func run(_ path: String, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let output = try await ChildProcessRunner.run(executable: path, arguments: arguments, timeout: .seconds(120))
        return (output.status, String(decoding: output.stdout, as: UTF8.self), String(decoding: output.stderr, as: UTF8.self))
    }
}
