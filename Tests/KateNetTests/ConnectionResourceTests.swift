import Metrics
import MetricsTestKit
import Testing
@testable import KateNet

/// What a closed connection leaves behind (RELIABILITY.md bug 8): nothing. The webhook's RSS grew
/// ~0.75 KiB per full TLS handshake because each connection's handler watchdog parked in
/// `Task.sleep(until: now + handlerTimeout)`; cancelling a `Task.sleep` does not free its timer (a
/// sleep task and a Dispatch source stay queued until the original deadline), so every closed
/// connection held one for 30 s. The watchdog now sleeps on the reactor, whose heap entry goes
/// away on cancellation, and these tests look for leftovers there.
///
/// The reactor is process-wide and other suites run in parallel, so the tests give every timeout
/// an hours-long value no other test uses and count only reactor deadlines that far out.
/// Serialized: the two tests count the same window.
@Suite("Connection resources: nothing outlives a closed connection", .serialized)
struct ConnectionResourceTests {
    /// Every server timeout; anything the server parks on the reactor has a deadline this far out.
    static let longTimeout: Duration = .seconds(5 * 3600)
    /// Reactor deadlines after now + this belong to the test (no other test waits hours).
    static let window: Duration = .seconds(4 * 3600)

    static func farTimers() throws -> Int {
        try Reactor.shared().timerCount(after: .now + window)
    }

    @Test("a reactor sleep returns at its deadline, and cancelling one frees its timer at once")
    func reactorSleep() async throws {
        let reactor = try Reactor.shared()
        let start = ContinuousClock.now
        try await reactor.sleep(until: start + .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50), "never early")
        try await reactor.sleep(until: start)  // already past: returns at once

        let before = try Self.farTimers()
        let sleepers = (0..<1000).map { _ in
            Task { try await reactor.sleep(until: .now + Self.longTimeout) }
        }
        #expect(try await NetIOTest.eventually { try Self.farTimers() == before + 1000 }, "all parked on the reactor")
        for sleeper in sleepers { sleeper.cancel() }
        for sleeper in sleepers {
            await #expect(throws: CancellationError.self) { try await sleeper.value }
        }
        #expect(try Self.farTimers() == before, "cancelled sleeps left no timer behind")

        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await reactor.sleep(until: .now + Self.longTimeout)
        }
        await #expect(throws: CancellationError.self) { try await cancelledFirst.value }
        #expect(try Self.farTimers() == before)
    }

    @Test("sleepCancellably (the deadline timer of admission, registry waits and DNS) parks on the reactor and frees its timer on cancel")
    func publicSleepIsReactorSleep() async throws {
        let start = ContinuousClock.now
        try await sleepCancellably(until: start + .milliseconds(20))
        #expect(ContinuousClock.now - start >= .milliseconds(20), "never early")
        let before = try Self.farTimers()
        let sleepers = (0..<200).map { _ in Task { try await sleepCancellably(until: .now + Self.longTimeout) } }
        #expect(try await NetIOTest.eventually { try Self.farTimers() == before + 200 }, "parked on the reactor, not Task.sleep")
        for sleeper in sleepers { sleeper.cancel() }
        for sleeper in sleepers {
            await #expect(throws: CancellationError.self) { try await sleeper.value }
        }
        #expect(try Self.farTimers() == before, "cancelled sleeps left no timer behind")
    }

    @Test("after 300 full TLS handshakes (Connection: close), the reactor holds no timer and the registry no connection")
    func handshakesLeaveNothing() async throws {
        let metrics = TestMetrics()
        let long = Self.longTimeout
        let configuration = HTTPServerConfiguration(
            handshakeTimeout: long, headerReadTimeout: long, bodyReadTimeout: long, idleTimeout: long,
            handlerTimeout: long, writeTimeout: long)
        let baseline = try Self.farTimers()
        try await withMetricsFactory(metrics) {
            try await NetHTTPTestServer.with(.tls, configuration: configuration) { server in
                // A keep-alive connection between requests: its watchdog's timer (and its idle read)
                // must be visible in the reactor, or the test would not see a timer that outlives it.
                let kept = try await server.connect()
                #expect(try await kept.get("/healthz").status == 200)
                #expect(try await NetIOTest.eventually { try Self.farTimers() >= baseline + 2 },
                        "the watchdog sleeps on the reactor (a Task.sleep would be invisible here, and leak)")
                await kept.close()
                #expect(try await NetIOTest.eventually { try Self.farTimers() == baseline }, "closing it freed both")

                let tally = NetHTTPTally()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<6 {
                        group.addTask {
                            for index in stride(from: worker, to: 300, by: 6) {
                                let connection = try await server.connect()
                                let response = try await connection.get("/healthz", headers: "Connection: close\r\n")
                                let closed = await connection.isClosedByServer()
                                await connection.close()
                                tally.record(response.status == 200 && closed ? nil : "#\(index): \(response.status), closed \(closed)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let (ok, failed) = tally.snapshot
                #expect(ok == 300 && failed.isEmpty, "\(failed.prefix(5))")

                let gauge = try metrics.expectGauge("kate_http_open_connections")
                #expect(await NetIOTest.eventually { gauge.lastValue == 0 }, "the connection registry is empty again")
                let cleared = try await NetIOTest.eventually { try Self.farTimers() == baseline }
                let left = try Self.farTimers() - baseline
                #expect(cleared, "\(left) reactor timers outlived their connections")
            }
        }
    }
}
