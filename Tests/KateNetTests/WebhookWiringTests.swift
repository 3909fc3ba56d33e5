import Foundation
import Testing
@testable import KateNet

/// What `kate webhook` wires together, at the library level: a self-signed serving certificate,
/// the operational routes, readiness, and SIGTERM → graceful shutdown.
@Suite("Webhook wiring: self-signed TLS, /healthz /readyz /metrics, SIGTERM drain")
struct WebhookWiringTests {
    @Test("self-signed certificate covers localhost, the service name and loopback IPs")
    func selfSigned() async throws {
        let selfSigned = try SelfSignedServing(dnsNames: ["localhost", "kate.kate-system.svc"])
        let context = try selfSigned.makeContext(logger: .init(label: "t"))
        let tls = NetHTTPTestTLS(
            authority: selfSigned.authority, serving: selfSigned.serving, serverContext: context,
            clientContext: try TLSClientContext(configuration: NetHTTPTestTLS.clientConfiguration(selfSigned.authority)))
        try await NetHTTPTestServer.with(.tls, tls: tls) { server in
            for name in ["localhost", "kate.kate-system.svc", "127.0.0.1"] {
                var configuration = NetHTTPTestTLS.clientConfiguration(selfSigned.authority)
                configuration.serverNameOverride = name
                let client = HTTPClient(configuration: .init(tls: configuration))
                let response = try await client.execute(.init(url: "https://127.0.0.1:\(server.port)/healthz"), deadline: .now + .seconds(30))
                #expect(response.status == 200, "verified as \(name)")
                await client.shutdown()
            }
        }
    }

    @Test("/healthz, /readyz follow readiness, /metrics is Prometheus text; SIGTERM drains and stops")
    func operationalRoutesAndSignal() async throws {
        let readiness = ReadinessFlag()
        let gate = NetHTTPGate()
        var router = NetHTTPTestServer.defaultRouter(slowGate: gate)
        router.addOperationalRoutes(readiness: readiness, metrics: { Array("# TYPE kate_up gauge\nkate_up 1\n".utf8) })
        let signals = ShutdownSignals([SIGTERM])
        try await NetHTTPTestServer.with(.tls, responder: router) { server in
            let connection = try await server.connect()
            #expect(try await connection.get("/healthz").status == 200)
            #expect(try await connection.get("/readyz").status == 503, "not ready until the server says so")
            readiness.set(true)
            #expect(try await connection.get("/readyz").status == 200)
            let metrics = try await connection.get("/metrics")
            #expect(metrics.headers["Content-Type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(String(decoding: metrics.body, as: UTF8.self).contains("kate_up 1"))

            let busy = try await server.connect()
            try await busy.send("GET /slow?ms=500 HTTP/1.1\r\nHost: t\r\n\r\n")
            await gate.waitForArrival()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The webhook's main task: wait for the signal, then drain.
                group.addTask {
                    let name = await signals.wait()
                    #expect(name == "SIGTERM")
                    readiness.set(false)
                    await server.server.shutdown(gracePeriod: .seconds(5))
                }
                // Re-send until delivered: the dispatch source arms asynchronously.
                group.addTask {
                    while !Task.isCancelled {
                        kill(getpid(), SIGTERM)
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                let response = try await busy.readResponse()
                #expect(response.status == 200 && response.body == Array("slow done\n".utf8), "the in-flight request completed")
                try await group.next()
                group.cancelAll()
            }
            #expect(!readiness.isReady)
            #expect(!server.server.isAccepting)
        }
    }

    @Test("listen addresses", arguments: [
        ("0.0.0.0:8443", "0.0.0.0", 8443), ("[::]:8443", "::", 8443), ("127.0.0.1:0", "127.0.0.1", 0), (":9443", "0.0.0.0", 9443),
        ("[::1]:443", "::1", 443),
    ])
    func listenAddress(text: String, host: String, port: Int) throws {
        let parsed = try HTTPServerConfiguration.parseListenAddress(text)
        #expect(parsed.host == host && parsed.port == port)
    }

    @Test("bad listen addresses say what is expected", arguments: ["8443", "localhost", "0.0.0.0:http", "[::]8443", "1.2.3.4:70000", "::1:443"])
    func badListenAddress(text: String) {
        #expect(throws: ListenAddressError.self) { try HTTPServerConfiguration.parseListenAddress(text) }
    }
}
