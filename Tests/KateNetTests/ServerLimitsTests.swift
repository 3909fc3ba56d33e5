import Testing
@testable import KateNet

@Suite("HTTP server: limits and timeouts")
struct ServerLimitsTests {
    struct BadRequest: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: String
        let status: Int
        let reason: String
        var testDescription: String { name }
    }

    static let badRequests: [BadRequest] = [
        .init(name: "header section too large", bytes: "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 3000))\r\n\r\n", status: 431, reason: "exceeds 2048 bytes"),
        .init(name: "Content-Length over the limit", bytes: "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4097\r\n\r\n", status: 413, reason: "exceeds 4096 bytes"),
        .init(name: "huge Content-Length", bytes: "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 123456789012345678901234567890\r\n\r\n", status: 413, reason: "exceeds"),
        .init(name: "header without colon", bytes: "GET /healthz HTTP/1.1\r\nHost: t\r\nBroken header\r\n\r\n", status: 400, reason: "without a colon"),
        .init(name: "invalid chunk size", bytes: "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nXYZ\r\n", status: 400, reason: "invalid chunk size"),
        .init(name: "Content-Length with Transfer-Encoding", bytes: "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", status: 400, reason: "smuggling"),
    ]

    static let smallLimits = HTTPServerConfiguration(maxHeaderBytes: 2048, maxBodyBytes: 4096)

    @Test("malformed or oversized requests get their status on that connection only", arguments: NetHTTPTestServer.Transport.all, badRequests)
    func rejected(transport: NetHTTPTestServer.Transport, bad: BadRequest) async throws {
        try await NetHTTPTestServer.with(transport, configuration: Self.smallLimits) { server in
            let healthy = try await server.connect()
            #expect(try await healthy.get("/healthz").status == 200)

            let connection = try await server.connect()
            try await connection.send(bad.bytes)
            let response = try await connection.readResponse()
            #expect(response.status == bad.status)
            #expect(String(decoding: response.body, as: UTF8.self).contains(bad.reason))
            #expect(response.headers["Connection"] == "close")
            #expect(await connection.isClosedByServer())

            #expect(try await healthy.get("/healthz").status == 200, "other connections are unaffected")
            await healthy.close()
        }
    }

    @Test("a never-ending chunked body is cut off with 413 once it outgrows the limit", arguments: NetHTTPTestServer.Transport.all)
    func endlessChunked(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport, configuration: Self.smallLimits) { server in
            let connection = try await server.connect()
            try await connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = "400\r\n" + String(repeating: "z", count: 1024) + "\r\n"
            // Keep sending until the server answers: it must stop us at 4 KiB, not buffer forever.
            var sent = 0
            while sent < 64, (try? await connection.send(chunk)) != nil { sent += 1 }
            let response = try await connection.readResponse()
            #expect(response.status == 413)
            #expect(sent <= 64)
            #expect(await connection.isClosedByServer())
        }
    }

    @Test("slowloris: a head dripping in byte by byte gets 408 after the header timeout", arguments: NetHTTPTestServer.Transport.all)
    func slowloris(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(headerReadTimeout: .milliseconds(600))
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let connection = try await server.connect()
            let started = ContinuousClock.now
            let response = try await withThrowingTaskGroup(of: HTTPClientResponse?.self) { group in
                group.addTask {
                    // One byte every 50 ms: each read succeeds, so only a timeout counted from the
                    // first byte (not per read) can stop this.
                    for byte in "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8 + Array(repeating: UInt8(ascii: "a"), count: 1000) {
                        guard (try? await connection.send([byte])) != nil else { break }
                        try await Task.sleep(for: .milliseconds(50))
                    }
                    return nil
                }
                group.addTask { try await connection.readResponse(timeout: .seconds(30)) }
                while let result = try await group.next() {
                    if let result {
                        group.cancelAll()
                        return result
                    }
                }
                throw NetError(.other, "no response")
            }
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 408)
            #expect(elapsed >= .milliseconds(550) && elapsed < .seconds(15), "took \(elapsed)")
        }
    }

    @Test("a body that stalls gets 408 after the body timeout", arguments: NetHTTPTestServer.Transport.all)
    func bodyTimeout(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(bodyReadTimeout: .milliseconds(500))
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let connection = try await server.connect()
            let started = ContinuousClock.now
            try await connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b")
            let response = try await connection.readResponse()
            #expect(response.status == 408)
            #expect(String(decoding: response.body, as: UTF8.self).contains("body"))
            #expect(ContinuousClock.now - started >= .milliseconds(450))
        }
    }

    @Test("an idle keep-alive connection is closed silently after the idle timeout", arguments: NetHTTPTestServer.Transport.all)
    func idleTimeout(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(idleTimeout: .milliseconds(400))
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let connection = try await server.connect()
            // Measured from before the request: the server's idle clock starts after its answer.
            let started = ContinuousClock.now
            #expect(try await connection.get("/healthz").status == 200)
            let bytes = try? await connection.stream.read(maxBytes: 1024, deadline: .now + .seconds(30))
            #expect(bytes == nil || bytes == [], "closed without sending anything")
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(15), "took \(elapsed)")
        }
    }

    @Test("a connection that never sends a request is closed after the header timeout with 408", arguments: NetHTTPTestServer.Transport.all)
    func silentConnection(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(headerReadTimeout: .milliseconds(400))
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let connection = try await server.connect()
            let response = try await connection.readResponse()
            #expect(response.status == 408)
            #expect(await connection.isClosedByServer())
        }
    }

    @Test("a handler past the handler deadline: 503 with the reason, on time", arguments: NetHTTPTestServer.Transport.all)
    func handlerDeadline(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(handlerTimeout: .milliseconds(300))
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let connection = try await server.connect()
            let started = ContinuousClock.now
            let response = try await connection.get("/hang")
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 503)
            #expect(String(decoding: response.body, as: UTF8.self).contains("did not answer within"))
            #expect(elapsed >= .milliseconds(280) && elapsed < .seconds(15), "took \(elapsed)")
            #expect(try await server.connect().get("/healthz").status == 200)
        }
    }

    @Test("beyond max connections new ones are refused; capacity returns when one closes", arguments: NetHTTPTestServer.Transport.all)
    func maxConnections(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport, configuration: HTTPServerConfiguration(maxConnections: 2, probeReserve: 0)) { server in
            let first = try await server.connect()
            let second = try await server.connect()
            #expect(try await first.get("/healthz").status == 200)
            #expect(try await second.get("/healthz").status == 200)

            switch transport {
            case .plain:
                let third = try await server.connect()
                let response = try await third.readResponse()
                #expect(response.status == 503)
                #expect(String(decoding: response.body, as: UTF8.self).contains("limit of 2 connections"))
            case .tls:
                // Closed before the handshake (no 503: it would cost a handshake per refusal).
                await #expect(throws: NetError.self) { _ = try await server.connect() }
            }

            await first.close()
            // The server notices the close asynchronously; poll (bounded) rather than sleep.
            var recovered = false
            for _ in 0..<100 where !recovered {
                if let connection = try? await server.connect(), let response = try? await connection.get("/healthz") {
                    recovered = response.status == 200
                    await connection.close()
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            #expect(recovered)
            await second.close()
        }
    }

    @Test("past max connections the probe reserve answers /healthz and sheds everything else", arguments: NetHTTPTestServer.Transport.all)
    func probeReserve(transport: NetHTTPTestServer.Transport) async throws {
        let configuration = HTTPServerConfiguration(maxConnections: 2, probeReserve: 1)
        try await NetHTTPTestServer.with(transport, configuration: configuration) { server in
            let first = try await server.connect()
            let second = try await server.connect()
            #expect(try await first.get("/healthz").status == 200)
            #expect(try await second.get("/healthz").status == 200)

            // Both slots busy and the one reserve slot held: refused outright (plaintext: 503
            // without reading a request; TLS: closed before the handshake). The accept loop takes
            // connections in order, so `held` is counted before `refused` arrives.
            let held = try await server.connect()
            switch transport {
            case .plain:
                #expect(try await server.connect().readResponse().status == 503)
            case .tls:
                await #expect(throws: NetError.self) { _ = try await server.connect().get("/healthz") }
            }
            await held.close()

            // With the reserve slot free again (the server notices the close a moment later: poll,
            // bounded), a kubelet-style probe on a new connection is answered although every regular
            // slot is taken, and that connection is not kept for more work.
            var probe: (status: Int, connection: NetHTTPRawConnection)?
            for _ in 0..<100 where probe?.status != 200 {
                if let connection = try? await server.connect(), let response = try? await connection.get("/healthz") {
                    probe = (response.status, connection)
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let answered = try #require(probe)
            #expect(answered.status == 200)
            #expect(await answered.connection.isClosedByServer())

            // Any other request on a reserve connection is shed with 503 and a reason.
            var shed: HTTPClientResponse?
            for _ in 0..<100 where shed == nil {
                if let connection = try? await server.connect(), let response = try? await connection.get("/peer") {
                    shed = response
                } else {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let shedResponse = try #require(shed)
            #expect(shedResponse.status == 503)
            #expect(String(decoding: shedResponse.body, as: UTF8.self).contains("limit of 2 connections"))
            await first.close()
            await second.close()
        }
    }
}
