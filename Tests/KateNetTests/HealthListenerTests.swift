import Foundation
import Logging
import Metrics
import MetricsTestKit
import Testing
@testable import KateNet

/// `kate webhook --health-listen`: the kubelet's probes on a plain-HTTP listener of their own,
/// with a connection limit that the main listener's limit does not count (RELIABILITY.md bug 9).
@Suite("Health listener: probes on their own port and connection limit")
struct HealthListenerTests {
    static var quietLogger: Logger {
        var logger = Logger(label: "test.health-listener")
        logger.logLevel = .critical
        return logger
    }

    /// The main listener's routes as `kate webhook` has them: probes, metrics and an admission path.
    static func mainRouter(readiness: ReadinessFlag) -> Router {
        var router = NetHTTPTestServer.defaultRouter()
        router.addOperationalRoutes(readiness: readiness, metrics: { Array("kate_up 1\n".utf8) })
        return router
    }

    /// Runs a started health listener for the duration of `body`, then shuts it down.
    static func withHealthListener<T: Sendable>(
        readiness: ReadinessFlag, maxConnections: Int = HealthListener.defaultMaxConnections,
        _ body: (_ port: Int) async throws -> T
    ) async throws -> T {
        let health = HealthListener(host: "127.0.0.1", port: 0, readiness: readiness, maxConnections: maxConnections, logger: quietLogger)
        let port = try await health.start()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await health.run() }
            do {
                let result = try await body(port)
                await health.shutdown()
                return result
            } catch {
                await health.shutdown()
                throw error
            }
        }
    }

    /// A plain-HTTP connection to a loopback port.
    static func connect(_ port: Int) async throws -> NetHTTPRawConnection {
        NetHTTPRawConnection(stream: try await TCPStream.connect(host: "127.0.0.1", port: port, deadline: .now + .seconds(30)))
    }

    /// What the kubelet does: a new connection per probe, one GET, then close.
    static func probe(_ port: Int, _ path: String) async throws -> HTTPClientResponse {
        let connection = try await connect(port)
        do {
            let response = try await connection.get(path, headers: "Connection: close\r\n")
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    @Test("with the main listener full, probe reserve included, the health listener still answers 200")
    func probeWhileMainIsFull() async throws {
        let readiness = ReadinessFlag()
        readiness.set(true)
        // The overload case in miniature: 2 slots + 1 probe-reserve slot, all held open.
        let configuration = HTTPServerConfiguration(maxConnections: 2, probeReserve: 1)
        try await NetHTTPTestServer.with(.tls, configuration: configuration, responder: Self.mainRouter(readiness: readiness)) { main in
            try await Self.withHealthListener(readiness: readiness) { healthPort in
                var held: [NetHTTPRawConnection] = []
                for _ in 0..<2 {
                    let connection = try await main.connect()
                    // Answered, so counted by the main listener before the next one arrives.
                    #expect(try await connection.get("/healthz").status == 200)
                    held.append(connection)
                }
                // The reserve slot: handshake done (so accepted and counted), no request sent (a
                // reserve connection is closed after its one answer, which would free the slot).
                held.append(try await main.connect())
                // The main listener is at its limit including the reserve: a probe there would now
                // be closed before its handshake, which is what the kubelet saw in the storm.
                await #expect(throws: NetError.self, "the main listener is full") {
                    _ = try await main.connect().get("/healthz")
                }

                for _ in 0..<5 {
                    #expect(try await Self.probe(healthPort, "/healthz").status == 200)
                    #expect(try await Self.probe(healthPort, "/readyz").status == 200)
                }
                for connection in held { await connection.close() }
            }
        }
    }

    @Test("the health listener's limit is its own: full, it sheds with 503 and the main listener is unaffected")
    func ownLimits() async throws {
        let readiness = ReadinessFlag()
        readiness.set(true)
        // One main slot and no reserve: if the health listener's connections were counted against
        // it, the main listener would refuse its very first connection below.
        let configuration = HTTPServerConfiguration(maxConnections: 1, probeReserve: 0)
        try await NetHTTPTestServer.with(.plain, configuration: configuration, responder: Self.mainRouter(readiness: readiness)) { main in
            try await Self.withHealthListener(readiness: readiness, maxConnections: 2) { healthPort in
                var held: [NetHTTPRawConnection] = []
                for _ in 0..<2 {
                    let connection = try await Self.connect(healthPort)
                    #expect(try await connection.get("/healthz").status == 200)
                    held.append(connection)
                }
                let shed = try await Self.connect(healthPort).readResponse()
                #expect(shed.status == 503, "past its own limit of 2")

                let admission = try await main.connect()
                try await admission.send("POST /mutate?timeout=10s HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}")
                #expect(try await admission.readResponse().status == 200, "the main listener's slot is still free")
                await admission.close()
                for connection in held { await connection.close() }
            }
        }
    }

    @Test("only /healthz and /readyz: /mutate, /validate, /metrics and anything else are 404")
    func onlyProbes() async throws {
        let readiness = ReadinessFlag()
        try await Self.withHealthListener(readiness: readiness) { port in
            #expect(try await Self.probe(port, "/healthz").status == 200)
            #expect(try await Self.probe(port, "/readyz").status == 503, "not ready until the webhook says so")
            readiness.set(true)
            #expect(try await Self.probe(port, "/readyz").status == 200)
            #expect(try await Self.probe(port, "/healthz?verbose=1").status == 200)

            for path in ["/metrics", "/", "/livez", "/mutate", "/validate"] {
                #expect(try await Self.probe(port, path).status == 404, "GET \(path)")
            }
            for path in ["/mutate", "/validate"] {
                let connection = try await Self.connect(port)
                try await connection.send("POST \(path)?timeout=10s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                let response = try await connection.readResponse()
                #expect(response.status == 404, "POST \(path)")
                await connection.close()
            }
            let post = try await Self.connect(port)
            try await post.send("POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            #expect(try await post.readResponse().status == 405)
            await post.close()
            let head = try await Self.connect(port)
            try await head.send("HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await head.readResponse(method: "HEAD").status == 200)
            await head.close()
        }
    }

    /// A responder that parks requests carrying `X-Hold` until the test releases them, so the test
    /// can have a `/readyz` in flight on the main listener when the drain begins.
    struct Holding: HTTPResponder {
        let inner: Router
        let arrived = NetHTTPGate()
        let release = OneShotEvent()

        func respond(to request: HTTPRequest, context: RequestContext) async -> HTTPResponse {
            if request.headers["X-Hold"] != nil {
                await arrived.arrive()
                await release.wait()
            }
            return await inner.respond(to: request, context: context)
        }
    }

    @Test("on stop: /readyz turns 503 on both listeners, /healthz stays 200 while the main one drains, then both stop")
    func drainFlipsReadinessOnBoth() async throws {
        let readiness = ReadinessFlag()
        let holding = Holding(inner: Self.mainRouter(readiness: readiness))
        let main = HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: nil, responder: holding, logger: Self.quietLogger)
        let health = HealthListener(host: "127.0.0.1", port: 0, readiness: readiness, logger: Self.quietLogger)
        let mainPort = try await main.start()
        let healthPort = try await health.start()
        let stop = OneShotEvent()

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Whatever fails below, let the held request and the drain finish, so that a broken
            // drain order is reported as a failure rather than a hang.
            defer {
                stop.fire()
                holding.release.fire()
            }
            group.addTask {
                await main.serve(alongside: health, readiness: readiness, gracePeriod: .seconds(10)) { await stop.wait() }
            }
            // Ready on both once serving.
            var ready = false
            for _ in 0..<200 where !ready {
                ready = try await Self.probe(healthPort, "/readyz").status == 200
                if !ready { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(ready)
            #expect(try await Self.probe(mainPort, "/readyz").status == 200)

            // A /readyz in flight on the main listener keeps it draining until released.
            let inFlight = try await Self.connect(mainPort)
            try await inFlight.send("GET /readyz HTTP/1.1\r\nHost: t\r\nX-Hold: 1\r\n\r\n")
            await holding.arrived.waitForArrival()

            stop.fire()
            var unready = false
            for _ in 0..<200 where !unready {
                unready = try await Self.probe(healthPort, "/readyz").status == 503
                if !unready { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(unready, "health listener: /readyz 503 once draining")
            #expect(try await Self.probe(healthPort, "/healthz").status == 200, "alive while the main listener drains")
            await #expect(throws: (any Error).self, "the main listener accepts no new connections") {
                _ = try await Self.probe(mainPort, "/healthz")
            }

            holding.release.fire()
            let answer = try await inFlight.readResponse()
            #expect(answer.status == 503, "main listener: /readyz 503 once draining")
            #expect(answer.headers["Connection"] == "close")
            await inFlight.close()

            // With the main listener drained, the health listener stops too and serve() returns.
            try await group.next()
            await #expect(throws: (any Error).self, "the health listener is closed") {
                _ = try await Self.probe(healthPort, "/healthz")
            }
        }
        #expect(!main.isAccepting && !health.isAccepting && !readiness.isReady)
    }

    @Test("a port in use is an error naming the address")
    func portInUse() async throws {
        let taken = try TCPListener(host: "127.0.0.1", port: 0)
        defer { taken.close() }
        let health = HealthListener(host: "127.0.0.1", port: taken.localPort, readiness: ReadinessFlag(), logger: Self.quietLogger)
        do {
            try await health.start()
            Issue.record("bound a port that is in use")
        } catch let error as NetError {
            #expect(error.kind == .addressInUse)
            #expect(error.description.contains("127.0.0.1:\(taken.localPort)"), "\(error)")
        }
    }

    @Test("its connections and probes do not touch the server metrics (one gauge shared by name)")
    func separateMetrics() async throws {
        let metrics = TestMetrics()
        let readiness = ReadinessFlag()
        readiness.set(true)
        try await withMetricsFactory(metrics) {
            try await NetHTTPTestServer.with(.plain, responder: Self.mainRouter(readiness: readiness)) { main in
                let connection = try await main.connect()
                #expect(try await connection.get("/healthz").status == 200)
                try await Self.withHealthListener(readiness: readiness) { port in
                    // Two at once: a shared gauge would record 2 (then the main listener's 1 would
                    // be overwritten whenever a probe connection opened or closed).
                    let first = try await Self.connect(port)
                    let second = try await Self.connect(port)
                    #expect(try await first.get("/healthz").status == 200)
                    #expect(try await second.get("/readyz").status == 200)
                    await first.close()
                    await second.close()
                }
                await connection.close()
            }
        }
        #expect(try metrics.expectCounter("kate_http_requests_total", [("path", "/healthz"), ("code", "200")]).totalValue == 1)
        #expect(throws: (any Error).self, "no /readyz request reached the main listener") {
            try metrics.expectCounter("kate_http_requests_total", [("path", "/readyz"), ("code", "200")])
        }
        let gauge = try metrics.expectGauge("kate_http_open_connections")
        #expect(gauge.values.allSatisfy { $0 <= 1 }, "\(gauge.values)")
    }
}

/// The same through the real `kate webhook` binary (flag, env-free wiring, exit codes). Enabled
/// when the binary is next to the tests or named by `KATE_BINARY`, like `WebhookE2ETests`.
@Suite("kate webhook --health-listen (the built binary)")
struct HealthListenerBinaryTests {
    @Test("--health-listen serves the probes over plain HTTP; SIGTERM stops both listeners, exit 0",
          .enabled(if: WebhookE2ETests.runsBinary, "kate binary not built"))
    func healthListen() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        let (process, stderr) = try WebhookE2ETests.launch(
            ["webhook", "--self-signed", "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:0",
             "--ca-out", directory + "/ca.pem", "--pull-secrets", "off", "--grace-period", "5s"],
            home: directory)
        defer { if process.isRunning { process.terminate() } }

        // The main listener binds first, then the health listener; each logs "listening on".
        let ports = try await Self.boundPorts(2, from: stderr.fileHandleForReading)
        let (mainPort, healthPort) = (ports[0], ports[1])
        #expect(mainPort != healthPort)
        var ready = false
        for _ in 0..<200 where !ready {
            ready = try await HealthListenerTests.probe(healthPort, "/readyz").status == 200
            if !ready { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(ready)
        #expect(try await HealthListenerTests.probe(healthPort, "/healthz").status == 200)
        #expect(try await HealthListenerTests.probe(healthPort, "/metrics").status == 404)
        #expect(try await HealthListenerTests.probe(healthPort, "/mutate").status == 404)

        process.terminate()  // SIGTERM
        #expect(await WebhookE2ETests.exitStatus(of: process) == 0)
        await #expect(throws: (any Error).self, "the health listener stopped with the process") {
            _ = try await HealthListenerTests.probe(healthPort, "/healthz")
        }
    }

    @Test("a --health-listen port in use: one error line naming the flag, non-zero exit",
          .enabled(if: WebhookE2ETests.runsBinary, "kate binary not built"))
    func healthPortInUse() async throws {
        let directory = try NetHTTPFiles.temporaryDirectory()
        defer { NetHTTPFiles.remove(directory) }
        let taken = try TCPListener(host: "127.0.0.1", port: 0)
        defer { taken.close() }
        let (process, stderr) = try WebhookE2ETests.launch(
            ["webhook", "--self-signed", "--listen", "127.0.0.1:0", "--health-listen", "127.0.0.1:\(taken.localPort)",
             "--ca-out", directory + "/ca.pem", "--pull-secrets", "off", "--log-level", "critical"],
            home: directory)
        defer { if process.isRunning { process.terminate() } }
        let status = await WebhookE2ETests.exitStatus(of: process)
        let output = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(status != 0)
        let errors = output.split(separator: "\n").filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "\(output)")
        #expect(errors.first?.contains("--health-listen 127.0.0.1:\(taken.localPort)") == true, "\(output)")
        #expect(errors.first?.contains("in use") == true, "\(output)")
    }

    /// Reads the log until `count` "listening on 127.0.0.1:PORT" lines (off the cooperative pool).
    static func boundPorts(_ count: Int, from handle: FileHandle) async throws -> [Int] {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                var seen = ""
                while true {
                    let data = handle.availableData
                    guard !data.isEmpty else {
                        continuation.resume(throwing: NetError(.other, "kate exited before both listeners were up; output:\n\(seen)"))
                        return
                    }
                    seen += String(decoding: data, as: UTF8.self)
                    let ports = seen.matches(of: #/listening on 127\.0\.0\.1:(\d+)/#).compactMap { Int($0.output.1) }
                    if ports.count >= count {
                        continuation.resume(returning: Array(ports.prefix(count)))
                        // Keep draining so the child never blocks on a full pipe.
                        while !handle.availableData.isEmpty {}
                        return
                    }
                }
            }
        }
    }
}
