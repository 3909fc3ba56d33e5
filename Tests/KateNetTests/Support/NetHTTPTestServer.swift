import Logging
import Synchronization
import Testing
@testable import KateNet

/// Runs an `HTTPServer` on 127.0.0.1:<ephemeral> for the duration of `body`, plaintext or over
/// TLS with a serving certificate from a throwaway `CertificateAuthority`. The server runs in a
/// child task and is shut down (and awaited) when `body` returns or throws.
struct NetHTTPTestServer: Sendable {
    enum Transport: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case plain, tls
        var testDescription: String { rawValue }
    }

    let server: HTTPServer
    let port: Int
    let transport: Transport
    let tls: NetHTTPTestTLS?

    static func with<T: Sendable>(
        _ transport: Transport = .tls,
        host: String = "127.0.0.1",
        configuration: HTTPServerConfiguration = .init(),
        responder: any HTTPResponder = NetHTTPTestServer.defaultRouter(),
        tls givenTLS: NetHTTPTestTLS? = nil,
        body: (NetHTTPTestServer) async throws -> T
    ) async throws -> T {
        var configuration = configuration
        configuration.host = host
        configuration.port = 0
        let tls = transport == .tls ? try givenTLS ?? NetHTTPTestTLS.make() : nil
        var logger = Logger(label: "test.http-server")
        logger.logLevel = .critical
        let server = HTTPServer(configuration: configuration, tls: tls?.serverContext, responder: responder, logger: logger)
        let port = try await server.start()
        let handle = NetHTTPTestServer(server: server, port: port, transport: transport, tls: tls)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await server.run() }
            do {
                let result = try await body(handle)
                await server.shutdown(gracePeriod: .seconds(2))
                return result
            } catch {
                await server.shutdown(gracePeriod: .seconds(2))
                throw error
            }
        }
    }

    /// Routes the server tests use: /healthz, an echo, a slow handler, and `/mutate`.
    static func defaultRouter(slowGate: NetHTTPGate? = nil) -> Router {
        var router = Router()
        router.add("GET", "/healthz") { _, _ in .text(200, "ok") }
        router.add("GET", "/peer") { _, context in .text(200, context.remoteAddress) }
        router.add("POST", "/mutate") { request, _ in
            .json(200, Array("{\"path\":\"\(request.path)\",\"query\":\"\(request.query ?? "")\",\"bytes\":\(request.body.count)}".utf8))
        }
        router.add("POST", "/echo") { request, _ in HTTPResponse(status: 200, body: request.body) }
        router.add("GET", "/slow") { request, _ in
            let millis = Int(request.queryParameter("ms") ?? "") ?? 200
            await slowGate?.arrive()
            try? await Task.sleep(for: .milliseconds(millis))
            return .text(200, "slow done")
        }
        router.add("GET", "/hang") { _, _ in
            // Honours cancellation, as responders must: the server cancels it at the handler deadline.
            while !Task.isCancelled { try? await Task.sleep(for: .seconds(10)) }
            return .text(200, "too late")
        }
        return router
    }

    /// A new connection to the server (TLS handshake done when the transport is TLS).
    func connect() async throws -> NetHTTPRawConnection {
        let tcp = try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: .now + .seconds(30))
        guard let tls else { return NetHTTPRawConnection(stream: tcp) }
        let stream = try await TLSStream.connect(tcp, context: tls.clientContext, serverName: "localhost", deadline: .now + .seconds(30))
        return NetHTTPRawConnection(stream: stream)
    }

    /// A plain TCP connection even when the server speaks TLS (for bad-input tests).
    func connectTCP() async throws -> NetHTTPRawConnection {
        NetHTTPRawConnection(stream: try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: .now + .seconds(30)))
    }
}

/// A client connection that writes raw bytes and parses responses, for tests that need exact control.
final class NetHTTPRawConnection: Sendable {
    let stream: any ByteStream
    /// Bytes read past the previous response (pipelining).
    private let leftover = Mutex<[UInt8]>([])

    init(stream: any ByteStream) { self.stream = stream }

    func send(_ text: String) async throws {
        try await stream.write(Array(text.utf8), deadline: .now + .seconds(30))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await stream.write(bytes, deadline: .now + .seconds(30))
    }

    /// Sends a GET and reads its response.
    func get(_ path: String, headers: String = "") async throws -> HTTPClientResponse {
        try await send("GET \(path) HTTP/1.1\r\nHost: test\r\n\(headers)\r\n")
        return try await readResponse()
    }

    /// Reads one response (leftover bytes stay for the next call: pipelining).
    func readResponse(method: String = "GET", timeout: Duration = .seconds(30)) async throws -> HTTPClientResponse {
        let deadline = ContinuousClock.now + timeout
        var current = HTTPResponseParser(requestMethod: method, maxBodyBytes: 1 << 24)
        current.append(leftover.withLock { bytes in defer { bytes = [] }; return bytes })
        while true {
            if let (response, _) = try current.next() {
                leftover.withLock { $0 = current.unconsumedBytes }
                return response
            }
            let bytes = try await stream.read(maxBytes: 64 * 1024, deadline: deadline)
            if bytes.isEmpty { return try current.finishAtEOF() }
            current.append(bytes)
        }
    }

    /// True if the server closes the connection (EOF or reset) before `timeout`.
    func isClosedByServer(within timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                let bytes = try await stream.read(maxBytes: 64 * 1024, deadline: deadline)
                if bytes.isEmpty { return true }
            } catch let error as NetError where error.kind == .timedOut {
                return false
            } catch {
                return true
            }
        }
    }

    func close() async { await stream.close() }
}

/// Lets a test wait until a handler is running (instead of sleeping and hoping).
final class NetHTTPGate: Sendable {
    private let event = OneShotEvent()
    func arrive() async { event.fire() }
    func waitForArrival() async { await event.wait() }
}

/// Counts successes and collects failure descriptions across concurrent test tasks.
final class NetHTTPTally: Sendable {
    private let state = Mutex((ok: 0, failed: [String]()))
    func record(_ failure: String?) {
        state.withLock { state in
            if let failure { state.failed.append(failure) } else { state.ok += 1 }
        }
    }
    var snapshot: (ok: Int, failed: [String]) { state.withLock { ($0.ok, $0.failed) } }
}
