import Testing
@testable import KateNet

@Suite("HTTP server: graceful shutdown")
struct ServerShutdownTests {
    @Test("shutdown drains an in-flight request, closes idle connections, refuses new ones", arguments: NetHTTPTestServer.Transport.all)
    func drains(transport: NetHTTPTestServer.Transport) async throws {
        let gate = NetHTTPGate()
        try await NetHTTPTestServer.with(transport, responder: NetHTTPTestServer.defaultRouter(slowGate: gate)) { server in
            let idle = try await server.connect()
            #expect(try await idle.get("/healthz").status == 200)
            let busy = try await server.connect()
            try await busy.send("GET /slow?ms=700 HTTP/1.1\r\nHost: t\r\n\r\n")
            await gate.waitForArrival()

            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await server.server.shutdown(gracePeriod: .seconds(60)) }

                let response = try await busy.readResponse()
                #expect(response.status == 200, "the in-flight request completes")
                #expect(response.body == Array("slow done\n".utf8))
                #expect(response.headers["Connection"] == "close", "and its connection is not kept")
                #expect(await idle.isClosedByServer(within: .seconds(30)), "idle keep-alive connections are closed")

                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(30), "shutdown returned once drained, not at the grace period (\(elapsed))")
            await #expect(throws: NetError.self, "new connections are refused") { _ = try await server.connectTCP() }
        }
    }

    @Test("after the grace period, unfinished handlers are cancelled and shutdown returns")
    func graceExpires() async throws {
        try await NetHTTPTestServer.with(.plain) { server in
            let busy = try await server.connect()
            try await busy.send("GET /hang HTTP/1.1\r\nHost: t\r\n\r\n")
            // The request must be in the handler before shutting down; /healthz on another
            // connection answering proves the server read it (requests are read in arrival order).
            let probe = try await server.connect()
            #expect(try await probe.get("/healthz").status == 200)
            await probe.close()
            let started = ContinuousClock.now
            await server.server.shutdown(gracePeriod: .milliseconds(300))
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(15), "took \(elapsed)")
            #expect(await busy.isClosedByServer(within: .seconds(30)))
        }
    }

    @Test("readiness follows the listener: false before start and after shutdown")
    func readiness() async throws {
        let server = HTTPServer(configuration: .init(host: "127.0.0.1", port: 0), tls: nil, responder: Router(), logger: .init(label: "t"))
        #expect(!server.isAccepting)
        _ = try await server.start()
        #expect(server.isAccepting)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await server.run() }
            await server.shutdown(gracePeriod: .seconds(1))
        }
        #expect(!server.isAccepting)
    }
}
