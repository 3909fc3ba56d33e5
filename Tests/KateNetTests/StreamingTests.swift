import Synchronization
import Testing
@testable import KateNet

/// Server-side streamed (chunked) responses and the client's streaming reads, each against the other
/// and against a scripted server that frames bodies in ways kate's server never does.
@Suite("HTTP streaming")
struct StreamingTests {
    private static func client(_ server: NetHTTPTestServer? = nil) -> HTTPClient {
        let tls = server?.tls.map { NetHTTPTestTLS.clientConfiguration($0.authority) } ?? TLSClientConfiguration(useSystemTrustStore: false)
        return HTTPClient(configuration: .init(tls: tls, connectTimeout: .seconds(30), maxResponseBodyBytes: 1 << 20))
    }

    private static func url(_ server: NetHTTPTestServer, _ path: String) -> String {
        "\(server.transport == .tls ? "https" : "http")://localhost:\(server.port)\(path)"
    }

    /// `/pieces?n=N`: writes `piece i\n` N times, each only after the test released it, so a client
    /// that saw piece i before releasing i+1 proves the body is not buffered to the end.
    private static func router(_ releases: PieceReleases) -> Router {
        var router = Router()
        router.add("GET", "/pieces") { request, _ in
            let count = Int(request.queryParameter("n") ?? "") ?? 3
            return .streaming(200, headers: ["Content-Type": "text/plain"]) { writer in
                for index in 0..<count {
                    await releases.waitFor(index)
                    try await writer.write(Array("piece \(index)\n".utf8))
                }
            }
        }
        router.add("GET", "/forever") { _, _ in
            .streaming { writer in
                try await writer.write(Array("first\n".utf8))
                while true { try await sleepCancellably(until: .now + .seconds(60)) }
            }
        }
        return router
    }

    @Test("each written piece reaches the streaming client before the next is produced", arguments: NetHTTPTestServer.Transport.all)
    func piecesArriveAsWritten(transport: NetHTTPTestServer.Transport) async throws {
        let releases = PieceReleases()
        try await NetHTTPTestServer.with(transport, responder: Self.router(releases)) { server in
            let client = Self.client(server)
            let response = try await client.stream(.init(url: Self.url(server, "/pieces?n=3")), headDeadline: .now + .seconds(30))
            #expect(response.status == 200)
            #expect(response.headers["Transfer-Encoding"] == "chunked")
            #expect(response.headers["Content-Length"] == nil)
            for index in 0..<3 {
                releases.release(index)
                let bytes = try await response.nextBodyBytes(deadline: .now + .seconds(30))
                #expect(bytes.map { String(decoding: $0, as: UTF8.self) } == "piece \(index)\n")
            }
            #expect(try await response.nextBodyBytes(deadline: .now + .seconds(30)) == nil)
            #expect(try await response.nextBodyBytes(deadline: .now + .seconds(30)) == nil, "an ended body stays ended")
            await client.shutdown()
        }
    }

    @Test("on the wire: chunked framing, a zero-size last chunk, and the connection serves the next request")
    func wireFormat() async throws {
        let releases = PieceReleases()
        for index in 0..<2 { releases.release(index) }
        try await NetHTTPTestServer.with(.plain, responder: Self.router(releases)) { server in
            let connection = try await server.connect()
            try await connection.send("GET /pieces?n=2 HTTP/1.1\r\nHost: test\r\n\r\n")
            var raw: [UInt8] = []
            while !raw.ends(with: Array("0\r\n\r\n".utf8)) {
                let bytes = try await connection.stream.read(maxBytes: 4096, deadline: .now + .seconds(30))
                if bytes.isEmpty { break }
                raw += bytes
            }
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.contains("Transfer-Encoding: chunked\r\n"))
            #expect(!text.contains("Content-Length"))
            #expect(text.hasSuffix("\r\n\r\n8\r\npiece 0\n\r\n8\r\npiece 1\n\r\n0\r\n\r\n"))
            // Keep-alive: the streamed body ended cleanly, so the same connection answers again.
            releases.release(2)
            let again = try await connection.get("/pieces?n=0")
            #expect(again.status == 200 && again.body.isEmpty)
            await connection.close()
        }
    }

    @Test("HTTP/1.0: no chunked coding; the body ends with the connection")
    func http10() async throws {
        let releases = PieceReleases()
        releases.release(0)
        try await NetHTTPTestServer.with(.plain, responder: Self.router(releases)) { server in
            let connection = try await server.connect()
            try await connection.send("GET /pieces?n=1 HTTP/1.0\r\n\r\n")
            let response = try await connection.readResponse()
            #expect(response.headers["Transfer-Encoding"] == nil)
            #expect(response.headers["Connection"] == "close")
            #expect(String(decoding: response.body, as: UTF8.self) == "piece 0\n")
            await connection.close()
        }
    }

    @Test("cancelling a task blocked in nextBodyBytes ends it at once with CancellationError")
    func cancellation() async throws {
        try await NetHTTPTestServer.with(.tls, responder: Self.router(PieceReleases())) { server in
            let client = Self.client(server)
            let started = ContinuousClock.now
            let reader = Task {
                let response = try await client.stream(.init(url: Self.url(server, "/forever")), headDeadline: .now + .seconds(30))
                let first = try await response.nextBodyBytes(deadline: .now + .seconds(60))
                #expect(first == Array("first\n".utf8))
                _ = try await response.nextBodyBytes(deadline: .now + .seconds(60))
            }
            try await Task.sleep(for: .milliseconds(300))
            reader.cancel()
            await #expect(throws: CancellationError.self) { try await reader.value }
            #expect(ContinuousClock.now - started < .seconds(20))
            await client.shutdown()
        }
    }

    @Test("an idle stream times out with the phase named; no bytes are invented")
    func idleTimeout() async throws {
        try await NetHTTPTestServer.with(.plain, responder: Self.router(PieceReleases())) { server in
            let client = Self.client(server)
            let response = try await client.stream(.init(url: Self.url(server, "/forever")), headDeadline: .now + .seconds(30))
            _ = try await response.nextBodyBytes(deadline: .now + .seconds(30))
            await #expect(throws: HTTPClientError.timeout(host: "localhost:\(server.port)", phase: "response body")) {
                try await response.nextBodyBytes(deadline: .now + .milliseconds(200))
            }
            #expect(try await response.nextBodyBytes(deadline: .now + .seconds(1)) == nil, "a failed stream is closed, not resumed")
            await client.shutdown()
        }
    }

    @Test("Content-Length, read-until-close and chunk-split bodies stream intact; a cut-off body is an error")
    func scriptedFraming() async throws {
        let scripts: [@Sendable (TCPStream) async throws -> Void] = [
            { stream in
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello", to: stream)
                try await Task.sleep(for: .milliseconds(50))
                try await NetHTTPScriptedServer.write(" world", to: stream)
            },
            { stream in
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\n\r\nuntil ", to: stream)
                try await NetHTTPScriptedServer.write("close", to: stream)
            },
            { stream in
                // A chunk-size line and its data split across writes, with an extension and a trailer.
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhel", to: stream)
                try await Task.sleep(for: .milliseconds(50))
                try await NetHTTPScriptedServer.write("lo\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n", to: stream)
            },
            { stream in
                try await NetHTTPScriptedServer.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", to: stream)
            },
        ]
        try await NetHTTPScriptedServer.with(script: { index, stream in
            _ = try await NetHTTPScriptedServer.readRequest(stream)
            try await scripts[index](stream)
        }) { server in
            let client = Self.client()
            func body(_ expectation: String) async throws -> String {
                let response = try await client.stream(.init(url: "http://127.0.0.1:\(server.port)/"), headDeadline: .now + .seconds(30))
                var all: [UInt8] = []
                while let bytes = try await response.nextBodyBytes(deadline: .now + .seconds(30)) { all += bytes }
                return String(decoding: all, as: UTF8.self)
            }
            let length = try await body("length")
            let untilClose = try await body("until close")
            let chunked = try await body("chunked")
            #expect(length == "hello world")
            #expect(untilClose == "until close")
            #expect(chunked == "hello world")
            await #expect(throws: HTTPClientError.self) { _ = try await body("cut off") }
            await client.shutdown()
        }
    }
}

/// Lets the test hand a streaming producer one piece at a time.
final class PieceReleases: Sendable {
    private let released = Mutex<(upTo: Int, waiters: [(Int, CheckedContinuation<Void, Never>)])>((-1, []))

    func release(_ index: Int) {
        let ready = released.withLock { state in
            state.upTo = max(state.upTo, index)
            let ready = state.waiters.filter { $0.0 <= state.upTo }.map(\.1)
            state.waiters.removeAll { $0.0 <= state.upTo }
            return ready
        }
        for waiter in ready { waiter.resume() }
    }

    func waitFor(_ index: Int) async {
        await withCheckedContinuation { continuation in
            let now = released.withLock { state in
                if index <= state.upTo { return true }
                state.waiters.append((index, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
