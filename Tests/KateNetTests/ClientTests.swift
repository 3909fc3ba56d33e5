import Testing
@testable import KateNet

private func client(_ server: NetHTTPTestServer? = nil, proxy: ProxyConfiguration? = nil, maxBody: Int = 64 << 20) -> HTTPClient {
    let tls = server?.tls.map { NetHTTPTestTLS.clientConfiguration($0.authority) } ?? TLSClientConfiguration(useSystemTrustStore: false)
    // Generous connect timeout: the module's tests share two cores with CPU-heavy key generation.
    return HTTPClient(configuration: .init(tls: tls, connectTimeout: .seconds(30), proxy: proxy, maxResponseBodyBytes: maxBody))
}

private func url(_ server: NetHTTPTestServer, _ path: String, host: String = "localhost") -> String {
    "\(server.transport == .tls ? "https" : "http")://\(host):\(server.port)\(path)"
}

private func text(_ response: HTTPClientResponse) -> String { String(decoding: response.body, as: UTF8.self) }

@Suite("HTTP client")
struct ClientTests {
    @Test("keep-alive: N requests reuse one connection", arguments: NetHTTPTestServer.Transport.all)
    func reuse(transport: NetHTTPTestServer.Transport) async throws {
        try await NetHTTPTestServer.with(transport) { server in
            let client = client(server)
            var peers = Set<String>()
            for _ in 0..<20 {
                let response = try await client.execute(.init(url: url(server, "/peer")), deadline: .now + .seconds(30))
                #expect(response.status == 200)
                peers.insert(text(response))
            }
            #expect(peers.count == 1, "the server saw \(peers.count) client connections")
            #expect(client.idleConnectionCount(for: url(server, "/")) == 1)
            await client.shutdown()
        }
    }

    @Test("POST body, Content-Length and Host reach the server; the query is kept")
    func post() async throws {
        try await NetHTTPTestServer.with(.tls) { server in
            let client = client(server)
            let response = try await client.execute(
                .init(method: "POST", url: url(server, "/mutate?timeout=10s"), headers: ["Content-Type": "application/json"], body: Array(repeating: 0x61, count: 5000)),
                deadline: .now + .seconds(30))
            #expect(text(response) == "{\"path\":\"/mutate\",\"query\":\"timeout=10s\",\"bytes\":5000}")
            await client.shutdown()
        }
    }

    @Test("a reused connection the server closed is retried once for GET, not for POST")
    func staleRetry() async throws {
        // Connection 0 answers its first request, then reads the next one and closes without an
        // answer: what a client sees when the server's idle timeout fires as it reuses the connection.
        try await NetHTTPScriptedServer.with(script: { index, stream in
            var answered = 0
            while let _ = try await NetHTTPScriptedServer.readRequest(stream) {
                if index == 0 && answered == 1 { return }
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nc\(index)", to: stream)
                answered += 1
            }
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            let base = "http://127.0.0.1:\(server.port)"
            let first = try await client.execute(.init(url: base + "/a"), deadline: .now + .seconds(30))
            let second = try await client.execute(.init(url: base + "/b"), deadline: .now + .seconds(30))
            #expect(text(first) == "c0")
            #expect(text(second) == "c1", "retried on a new connection")
            #expect(server.connectionCount == 2)
            await client.shutdown()
        }
        try await NetHTTPScriptedServer.with(script: { index, stream in
            var answered = 0
            while let _ = try await NetHTTPScriptedServer.readRequest(stream) {
                if answered == 1 { return }
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", to: stream)
                answered += 1
            }
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            let base = "http://127.0.0.1:\(server.port)"
            _ = try await client.execute(.init(method: "POST", url: base + "/a", body: [1]), deadline: .now + .seconds(30))
            await #expect(throws: HTTPClientError.self, "a POST is not replayed") {
                _ = try await client.execute(.init(method: "POST", url: base + "/b", body: [2]), deadline: .now + .seconds(30))
            }
            #expect(server.connectionCount == 1)
            await client.shutdown()
        }
    }

    @Test("chunked responses are decoded; read-until-close bodies end at EOF")
    func chunkedAndUntilClose() async throws {
        try await NetHTTPScriptedServer.with(script: { index, stream in
            while let request = try await NetHTTPScriptedServer.readRequest(stream) {
                if request.path == "/chunked" {
                    try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nkate\r\n", to: stream)
                    try await NetHTTPScriptedServer.write("7\r\n rocks!\r\n0\r\n\r\n", to: stream)
                } else {
                    try await NetHTTPScriptedServer.write("HTTP/1.0 200 OK\r\n\r\nuntil the end", to: stream)
                    return
                }
            }
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            let eof = try await client.execute(.init(url: "http://127.0.0.1:\(server.port)/eof"), deadline: .now + .seconds(30))
            #expect(text(eof) == "until the end")
            let chunked = try await client.execute(.init(url: "http://127.0.0.1:\(server.port)/chunked"), deadline: .now + .seconds(30))
            #expect(text(chunked) == "kate rocks!")
            #expect(client.idleConnectionCount(for: "http://127.0.0.1:\(server.port)/") == 1, "only the chunked one is reusable")
            await client.shutdown()
        }
    }

    @Test("HEAD: headers only, and the connection stays usable")
    func head() async throws {
        try await NetHTTPTestServer.with(.plain) { server in
            let client = client(server)
            let head = try await client.execute(.init(method: "HEAD", url: url(server, "/healthz")), deadline: .now + .seconds(30))
            #expect(head.status == 200 && head.body.isEmpty && head.headers["Content-Length"] == "3")
            #expect(try await text(client.execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))) == "ok\n")
            await client.shutdown()
        }
    }

    @Test("the deadline names the phase: tls (server never answers the handshake)")
    func tlsTimeout() async throws {
        try await NetHTTPScriptedServer.with(script: { _, stream in
            _ = try? await stream.read(maxBytes: 1024, deadline: .now + .seconds(10))
            _ = try? await stream.read(maxBytes: 1024, deadline: .now + .seconds(10))
        }) { server in
            let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
            await #expect(throws: HTTPClientError.timeout(host: "127.0.0.1:\(server.port)", phase: "tls")) {
                _ = try await client.execute(.init(url: "https://127.0.0.1:\(server.port)/"), deadline: .now + .seconds(2))
            }
        }
    }

    @Test("the deadline names the phase: response (slow handler)")
    func responseTimeout() async throws {
        try await NetHTTPTestServer.with(.plain) { server in
            let client = client(server)
            // Warm the pool first so the whole short deadline falls on the response phase.
            _ = try await client.execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))
            let started = ContinuousClock.now
            await #expect(throws: HTTPClientError.timeout(host: "localhost:\(server.port)", phase: "response")) {
                _ = try await client.execute(.init(url: url(server, "/slow?ms=20000")), deadline: .now + .seconds(1))
            }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("the deadline names the phase: connect (full accept queue drops SYNs)")
    func connectTimeout() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0, backlog: 0)
        defer { listener.close() }
        // Never accepted: fill the accept queue until a connect times out; further SYNs are dropped.
        var fillers: [TCPStream] = []
        var filled = false
        for _ in 0..<16 where !filled {
            do {
                fillers.append(try await TCPStream.connect(host: "127.0.0.1", port: listener.localPort, deadline: .now + .milliseconds(300)))
            } catch {
                filled = true
            }
        }
        try #require(filled, "the accept queue never filled")
        let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
        await #expect(throws: HTTPClientError.timeout(host: "127.0.0.1:\(listener.localPort)", phase: "connect")) {
            _ = try await client.execute(.init(url: "http://127.0.0.1:\(listener.localPort)/"), deadline: .now + .milliseconds(500))
        }
        for filler in fillers { await filler.close() }
    }

    @Test("refused connection and bad URLs are reported as such")
    func connectErrors() async throws {
        let listener = try TCPListener(host: "127.0.0.1", port: 0)
        let port = listener.localPort
        listener.close()
        let client = HTTPClient(configuration: .init(connectTimeout: .seconds(30)))
        do {
            _ = try await client.execute(.init(url: "http://127.0.0.1:\(port)/"), deadline: .now + .seconds(30))
            Issue.record("connect to a closed port succeeded")
        } catch let error as HTTPClientError {
            guard case .connectFailed(let host, let p, let message) = error else { Issue.record("got \(error)"); return }
            #expect(host == "127.0.0.1" && p == port && message.contains("refused"))
        }
        for bad in ["ftp://x/", "http://", "localhost:80/x", "http://[::1/x", "http://h:99999/"] {
            await #expect(throws: HTTPClientError.invalidURL(bad)) { _ = try await client.execute(.init(url: bad), deadline: .now + .seconds(1)) }
        }
    }

    @Test("TLS verification failures say why")
    func tlsVerification() async throws {
        try await NetHTTPTestServer.with(.tls) { server in
            let untrusting = HTTPClient(configuration: .init(tls: .init(useSystemTrustStore: false)))
            do {
                _ = try await untrusting.execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))
                Issue.record("an untrusted certificate was accepted")
            } catch let error as HTTPClientError {
                guard case .tlsFailure(let host, let message) = error else { Issue.record("got \(error)"); return }
                #expect(host == "localhost:\(server.port)")
                #expect(message.contains("certificate verify failed"), "\(message)")
            }
            let tls = try #require(server.tls)
            var wrongName = NetHTTPTestTLS.clientConfiguration(tls.authority)
            wrongName.serverNameOverride = "not-kate.example"
            do {
                _ = try await HTTPClient(configuration: .init(tls: wrongName)).execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))
                Issue.record("a hostname mismatch was accepted")
            } catch let error as HTTPClientError {
                #expect("\(error)".contains("hostname mismatch") || "\(error)".contains("certificate verify failed"), "\(error)")
            }
        }
    }

    @Test("IPv6 literal hosts: https://[::1]:port")
    func ipv6() async throws {
        _ = try await NetHTTPTestServer.with(.tls, host: "::1") { server in
            let response = try await client(server).execute(.init(url: url(server, "/peer", host: "[::1]")), deadline: .now + .seconds(30))
            #expect(response.status == 200)
            #expect(text(response).hasPrefix("[::1]:"))
        }
    }

    @Test("a response over the client's body limit is refused")
    func responseLimit() async throws {
        _ = try await NetHTTPTestServer.with(.plain) { server in
            await #expect(throws: HTTPClientError.malformedResponse(host: "localhost:\(server.port)", message: "response body exceeds 2 bytes")) {
                _ = try await client(server, maxBody: 2).execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))
            }
        }
    }

    @Test("https through a proxy uses a CONNECT tunnel; NO_PROXY bypasses it")
    func connectProxy() async throws {
        try await NetHTTPTestServer.with(.tls) { server in
            try await NetHTTPTestProxy.with { proxy in
                let viaProxy = client(server, proxy: .init(httpsProxy: "http://127.0.0.1:\(proxy.port)"))
                for _ in 0..<3 {
                    #expect(try await text(viaProxy.execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))) == "ok\n")
                }
                #expect(proxy.requestLines == ["CONNECT localhost:\(server.port)"], "one tunnel, reused")

                let bypassing = client(server, proxy: .init(httpsProxy: "127.0.0.1:\(proxy.port)", noProxy: ["localhost"]))
                let direct = try await bypassing.execute(.init(url: url(server, "/healthz")), deadline: .now + .seconds(30))
                #expect(direct.status == 200)
                #expect(proxy.requestLines.count == 1, "NO_PROXY=localhost went direct")
                await viaProxy.shutdown()
            }
        }
    }

    @Test("http through a proxy sends absolute-form requests to the proxy")
    func forwardProxy() async throws {
        try await NetHTTPTestProxy.with { proxy in
            let client = HTTPClient(configuration: .init(proxy: .init(httpProxy: "http://user:pw@127.0.0.1:\(proxy.port)")))
            let response = try await client.execute(.init(url: "http://registry.example:5000/v2/"), deadline: .now + .seconds(30))
            #expect(text(response) == "proxied http://registry.example:5000/v2/")
            #expect(proxy.requestLines == ["GET http://registry.example:5000/v2/"])
        }
    }

    @Test("a proxy refusing CONNECT is reported as a proxy failure")
    func proxyRefuses() async throws {
        try await NetHTTPScriptedServer.with(script: { _, stream in
            _ = try await NetHTTPScriptedServer.readRequest(stream)
            try await NetHTTPScriptedServer.write("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n", to: stream)
        }) { proxy in
            let client = HTTPClient(configuration: .init(proxy: .init(httpsProxy: "http://127.0.0.1:\(proxy.port)")))
            await #expect(throws: HTTPClientError.proxyFailure(proxy: "127.0.0.1:\(proxy.port)", message: "answered 407 to CONNECT registry.example:443")) {
                _ = try await client.execute(.init(url: "https://registry.example/v2/"), deadline: .now + .seconds(30))
            }
        }
    }
}
