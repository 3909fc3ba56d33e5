import Testing
@testable import KateNet

@Suite("HTTP server: requests and connections")
struct ServerTests {
    @Test("1,000 requests on one keep-alive connection", arguments: NetHTTPTestServer.Transport.all)
    func thousandKeepAlive(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            for i in 0..<1000 {
                let response = try await connection.get("/healthz")
                guard response.status == 200, response.body == Array("ok\n".utf8) else {
                    Issue.record("request \(i) got \(response.status)")
                    return
                }
            }
            await connection.close()
        }
    }

    @Test("200 concurrent connections all get answers", arguments: NetHTTPTestServer.Transport.all)
    func concurrentConnections(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        let connection = try await server.connect()
                        defer { Task { await connection.close() } }
                        var statuses: [Int] = []
                        for _ in 0..<3 { statuses.append(try await connection.get("/healthz").status) }
                        await connection.close()
                        return statuses
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(statuses.count == 600)
            #expect(statuses.allSatisfy { $0 == 200 })
        }
    }

    @Test("POST /mutate?timeout=10s reaches /mutate with its body", arguments: NetHTTPTestServer.Transport.all)
    func mutateWithQuery(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            let body = String(repeating: "x", count: 10_000)
            try await connection.send("POST /mutate?timeout=10s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let response = try await connection.readResponse(method: "POST")
            #expect(response.status == 200)
            #expect(String(decoding: response.body, as: UTF8.self) == "{\"path\":\"/mutate\",\"query\":\"timeout=10s\",\"bytes\":10000}")
            await connection.close()
        }
    }

    @Test("unknown path → 404, wrong method → 405 with Allow", arguments: NetHTTPTestServer.Transport.all)
    func routing(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            #expect(try await connection.get("/nope").status == 404)
            let wrong = try await connection.get("/mutate")
            #expect(wrong.status == 405)
            #expect(wrong.headers["Allow"] == "POST")
            #expect(try await connection.get("/healthz").status == 200, "the connection survives 404/405")
            await connection.close()
        }
    }

    @Test("pipelined requests are answered in order", arguments: NetHTTPTestServer.Transport.all)
    func pipelined(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            try await connection.send(
                "GET /slow?ms=100 HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst"
                    + "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nsecond\r\n0\r\n\r\n"
            )
            let bodies = [
                try await connection.readResponse(), try await connection.readResponse(method: "POST"),
                try await connection.readResponse(), try await connection.readResponse(method: "POST"),
            ].map { String(decoding: $0.body, as: UTF8.self) }
            #expect(bodies == ["slow done\n", "first", "ok\n", "second"])
            await connection.close()
        }
    }

    @Test("Connection: close and HTTP/1.0 close after the response", arguments: NetHTTPTestServer.Transport.all)
    func closeAfterResponse(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let closing = try await server.connect()
            let response = try await closing.get("/healthz", headers: "Connection: close\r\n")
            #expect(response.status == 200)
            #expect(response.headers["Connection"] == "close")
            #expect(await closing.isClosedByServer())

            let old = try await server.connect()
            try await old.send("GET /healthz HTTP/1.0\r\n\r\n")
            #expect(try await old.readResponse().status == 200)
            #expect(await old.isClosedByServer())

            let keep = try await server.connect()
            try await keep.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = try await keep.readResponse()
            #expect(first.headers["Connection"] == "keep-alive")
            try await keep.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(try await keep.readResponse().status == 200, "HTTP/1.0 keep-alive is honoured")
            await keep.close()
        }
    }

    @Test("Expect: 100-continue gets 100 Continue before the body is sent", arguments: NetHTTPTestServer.Transport.all)
    func expectContinue(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            try await connection.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            let interim = try await connection.stream.read(maxBytes: 1024, deadline: .now + .seconds(30))
            #expect(String(decoding: interim, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\n")
            try await connection.send("body")
            let response = try await connection.readResponse(method: "POST")
            #expect(response.body == Array("body".utf8))
            await connection.close()
        }
    }

    @Test("HEAD gets the headers of GET and no body", arguments: NetHTTPTestServer.Transport.all)
    func head(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let connection = try await server.connect()
            try await connection.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            let response = try await connection.readResponse(method: "HEAD")
            #expect(response.status == 200)
            #expect(response.headers["Content-Length"] == "3")
            #expect(try await connection.get("/healthz").body == Array("ok\n".utf8), "no stray body bytes were sent")
            await connection.close()
        }
    }
}
