import Foundation
import KateNet
import KateRegistry
import MetricsTestKit
import RegistryTestSupport
import Synchronization
import Testing

private let manifestBody = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{},"layers":[]}"#.utf8)
private let manifestDigest = "sha256:" + SHA256.hex(manifestBody)

private let healthy: ScriptedHTTPServer.Script = { _, _, _ in
    .init(status: 200, headers: [("Content-Type", ManifestMediaType.dockerManifest), ("Docker-Content-Digest", manifestDigest)])
}

/// Real sockets, three kinds of dead registry: the first lookup detects the outage within one
/// timeout, later ones fail at once (the circuit is open), and once the registry is back the
/// first lookup after the backoff gets an answer again.
@Suite("Registry outages (real sockets on loopback)")
struct OutageTests {
    static let timeout = Duration.seconds(2)
    static let backoff = Duration.seconds(2)

    func resolver(_ host: String, metrics: TestMetrics) -> Resolver {
        makeResolver(scripted: [host], metrics: metrics) {
            $0.requestTimeout = Self.timeout
            $0.connectTimeout = .seconds(1)
            // Long enough that only the circuit closing can explain "first" resolving later.
            $0.transportFailureCacheTTL = .seconds(60)
            $0.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 3, initialBackoff: Self.backoff, maxBackoff: .seconds(30))
        }
    }

    @Test("refused / hung / blackholed: detected within one timeout, then 200 lookups at concurrency 16 fail at once; back again after the probe",
          arguments: DeadRegistry.Mode.allCases)
    func outage(mode: DeadRegistry.Mode) async throws {
        let dead = try await DeadRegistry.start(mode)
        let metrics = TestMetrics()
        let resolver = resolver(dead.host, metrics: metrics)
        func reference(_ tag: String) throws -> ImageReference { try ImageReference.parse("\(dead.host)/app:\(tag)") }

        // First detection: at most one timeout (refused is faster: three failed connects).
        let started = ContinuousClock.now
        await #expect(throws: RegistryError.self) { try await resolver.resolve(reference("first"), deadline: .now + .seconds(30)) }
        let detection = ContinuousClock.now - started
        #expect(detection < Self.timeout + .milliseconds(800), "first detection took \(detection)")
        // The caller's own deadline and the request's timeout are the same instant: the shared
        // lookup may record the failure a moment after this caller has its answer.
        #expect(await eventually { resolver.circuitState(host: dead.host) == .open })
        #expect(try metrics.expectGauge("kate_registry_circuit_state", [("registry", dead.host)]).lastValue == 2)

        // 200 lookups of distinct tags, 16 at a time: each answers at once with "unreachable since".
        let latencies = Locked<[Duration]>([])
        let messages = Locked<[String]>([])
        let host = dead.host
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: 200, by: 16) {
                        let ref = try ImageReference.parse("\(host)/app:t\(i)")
                        let begin = ContinuousClock.now
                        do {
                            _ = try await resolver.resolve(ref, deadline: .now + .seconds(30))
                            Issue.record("t\(i) resolved against a dead registry")
                        } catch let error as RegistryError {
                            let took = ContinuousClock.now - begin
                            latencies.withLock { $0.append(took) }
                            if error.unreachableSince == nil || !error.isTransient { messages.withLock { $0.append(error.description) } }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let sorted = latencies.withLock { $0 }.sorted()
        #expect(sorted.count == 200)
        let p99 = sorted[Int(Double(sorted.count) * 0.99) - 1]
        #expect(p99 < .milliseconds(250), "p99 \(p99) with the circuit open (the benchmark measures the release figure)")
        #expect(sorted.last ?? .zero < .seconds(1), "slowest \(sorted.last ?? .zero)")
        #expect(messages.withLock { $0 }.isEmpty, "every error says since when the registry is unreachable: \(messages.withLock { $0.prefix(2) })")

        // The registry comes back on the same address; after the backoff the first lookup is answered.
        await dead.release()
        try await ScriptedHTTPServer.withRunning(port: dead.port, healthy) { server in
            try await Task.sleep(for: Self.backoff + .milliseconds(200))
            let back = try await resolver.resolve(reference("t0"), deadline: .now + .seconds(5))
            #expect(back.digest == manifestDigest)
            #expect(back.source == .registry)
            #expect(resolver.circuitState(host: dead.host) == .closed)
            #expect(try metrics.expectGauge("kate_registry_circuit_state", [("registry", dead.host)]).lastValue == 0)
            #expect(try await resolver.resolve(reference("first"), deadline: .now + .seconds(5)).digest == manifestDigest,
                    "remembered transport failures are forgotten when the circuit closes")
            #expect(server.requests.count == 2)
        }
        await resolver.shutdown()
    }

    @Test("while the half-open probe waits on a hung registry, other lookups of the same tag answer at once")
    func lookupsDoNotJoinTheProbe() async throws {
        let dead = try await DeadRegistry.start(.hung)
        let resolver = resolver(dead.host, metrics: TestMetrics())
        // Detected on another tag: a tag's own transport failure is remembered (60 s here) and answered from memory.
        await #expect(throws: RegistryError.self) {
            try await resolver.resolve(ImageReference.parse("\(dead.host)/app:detect"), deadline: .now + .seconds(30))
        }
        let tag = try ImageReference.parse("\(dead.host)/app:same")
        // The shared lookup may record the failure an instant after the caller's deadline answered it.
        for _ in 0..<100 where resolver.circuitState(host: dead.host) != .open { try await Task.sleep(for: .milliseconds(10)) }
        #expect(resolver.circuitState(host: dead.host) == .open)
        // Past the backoff the next lookup becomes the probe, and hangs until its timeout.
        try await Task.sleep(for: Self.backoff + .milliseconds(100))
        let probe = Task { try? await resolver.resolve(tag, deadline: .now + .seconds(30)) }
        for _ in 0..<100 where resolver.circuitState(host: dead.host) != .halfOpen { try await Task.sleep(for: .milliseconds(5)) }
        #expect(resolver.circuitState(host: dead.host) == .halfOpen)
        for _ in 0..<16 {
            let begin = ContinuousClock.now
            await #expect(throws: RegistryError.self) { try await resolver.resolve(tag, deadline: .now + .seconds(30)) }
            let took = ContinuousClock.now - begin
            #expect(took < .milliseconds(250), "a lookup joined the probe and waited \(took)")
        }
        _ = await probe.value
        await resolver.shutdown()
        await dead.release()
    }

    @Test("when the backoff runs out, of 16 lookups of one tag arriving together exactly one is the probe (its caller waits probePatience, not the timeout); the other 15 answer at once")
    func simultaneousLookupsAtBackoffExpiry() async throws {
        let dead = try await DeadRegistry.start(.hung)
        let resolver = resolver(dead.host, metrics: TestMetrics())
        await #expect(throws: RegistryError.self) {
            try await resolver.resolve(ImageReference.parse("\(dead.host)/app:detect"), deadline: .now + .seconds(30))
        }
        for _ in 0..<100 where resolver.circuitState(host: dead.host) != .open { try await Task.sleep(for: .milliseconds(10)) }
        #expect(resolver.circuitState(host: dead.host) == .open)
        try await Task.sleep(for: Self.backoff + .milliseconds(100))
        // Nobody has turned the circuit half-open yet: all 16 find it open with its backoff spent.
        let tag = try ImageReference.parse("\(dead.host)/app:together")
        let latencies = try await withThrowingTaskGroup(of: Duration.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    let begin = ContinuousClock.now
                    _ = try? await resolver.resolve(tag, deadline: .now + .seconds(30))
                    return ContinuousClock.now - begin
                }
            }
            var all: [Duration] = []
            for try await latency in group { all.append(latency) }
            return all.sorted()
        }
        #expect(latencies.count == 16)
        // The probe's caller waits `probePatience` (1 s), not the request timeout (2 s); the probe runs on.
        let patience = CircuitBreakerPolicy().probePatience
        #expect(latencies.filter { $0 >= patience - .milliseconds(100) }.count == 1, "exactly one lookup waits for the probe: \(latencies)")
        #expect((latencies.last ?? .zero) < Self.timeout - .milliseconds(300), "the probe's caller waited out the registry timeout: \(latencies)")
        #expect(latencies.dropLast().allSatisfy { $0 < .milliseconds(250) }, "the others answer at once: \(latencies)")
        #expect(resolver.circuitState(host: dead.host) == .halfOpen, "the probe is still out after its caller was answered")
        for _ in 0..<300 where resolver.circuitState(host: dead.host) != .open { try await Task.sleep(for: .milliseconds(10)) }
        #expect(resolver.circuitState(host: dead.host) == .open, "the probe timed out and reopened the circuit")
        await resolver.shutdown()
        await dead.release()
    }

    @Test("refused: the failure that opens the circuit, and a failed probe, answer at once (no retry delay); the probe says since when")
    func noRetryWaitOnceTheCircuitIsOpen() async throws {
        let dead = try await DeadRegistry.start(.refused)
        // A retry delay long enough that one slept shows even on a loaded machine (CI starts a target's 120 tests at
        // once on 2 cores, and a lookup there took 0.5 s with nothing slept): at least 2 s (4 s halved by the jitter).
        let resolver = makeResolver(scripted: [dead.host]) {
            $0.retryBaseDelay = .seconds(4)
            // A backoff longer than the retry delay: a retry slept by the detecting lookup must not become the probe.
            // The probe's caller waits for the probe itself (patience 10 s), so a delay slept inside it shows.
            $0.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 1, initialBackoff: .seconds(5), maxBackoff: .seconds(30), probePatience: .seconds(10))
        }
        func lookup(_ tag: String) async -> (took: Duration, error: String) {
            let begin = ContinuousClock.now
            var message = "resolved"
            do {
                _ = try await resolver.resolve(ImageReference.parse("\(dead.host)/app:\(tag)"), deadline: .now + .seconds(30))
            } catch {
                message = "\(error)"
            }
            return (ContinuousClock.now - begin, message)
        }
        // Threshold 1: the first refused connect opens the circuit; its retry would be refused by the circuit anyway.
        let beforeDetection = Date()
        let detection = await lookup("first")
        #expect(detection.took < .milliseconds(1500), "the lookup that opened the circuit slept a retry delay: \(detection.took)")
        #expect(resolver.circuitState(host: dead.host) == .open)
        // Past the backoff the next lookup is the probe; refused again, it reopens the circuit and answers at once.
        try await Task.sleep(for: .milliseconds(5200))
        let probe = await lookup("probe")
        #expect(probe.took < .milliseconds(1500), "the failed probe slept a retry delay before answering: \(probe.took)")
        #expect(resolver.circuitState(host: dead.host) == .open)
        // The probe's caller is told since when the registry has been unreachable, as the open circuit's answers are:
        // since the first failure, 5 s before the probe (the stamp has whole seconds).
        let stamp = probe.error.components(separatedBy: "registry unreachable since ").dropFirst().first?.prefix(20) ?? ""
        let since = try? Date(String(stamp), strategy: .iso8601)
        #expect(since.map { abs($0.timeIntervalSince(beforeDetection)) < 2 } == true, "probe: \(probe.error)")
        await resolver.shutdown()
        await dead.release()
    }

    @Test("with the circuit open, a tag with a last known digest is answered from it at once (stale-if-error)")
    func staleWhileOpen() async throws {
        let metrics = TestMetrics()
        let server = try await ScriptedHTTPServer.start(healthy)
        let host = server.host
        let resolver = makeResolver(scripted: [host], metrics: metrics) {
            $0.cacheTTL = .zero
            $0.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 3, initialBackoff: .seconds(30))
        }
        let ref = try ImageReference.parse("\(host)/app:v1")
        #expect(try await resolver.resolve(ref, deadline: soon()).source == .registry)
        await server.stop()  // now refused
        let first = try await resolver.resolve(ref, keyring: .empty, deadline: soon(), staleIfErrorWithin: .seconds(3600))
        #expect(first.source == .stale && first.digest == manifestDigest)
        #expect(resolver.circuitState(host: host) == .open)
        for _ in 0..<20 {
            let begin = ContinuousClock.now
            let again = try await resolver.resolve(ref, keyring: .empty, deadline: soon(), staleIfErrorWithin: .seconds(3600))
            #expect(again.source == .stale && again.digest == manifestDigest)
            #expect(ContinuousClock.now - begin < .milliseconds(250))
        }
        // A tag never seen gets the "unreachable since" error instead.
        await #expect {
            try await resolver.resolve(ImageReference.parse("\(host)/app:never"), keyring: .empty, deadline: soon(), staleIfErrorWithin: .seconds(3600))
        } throws: { error in
            guard let error = error as? RegistryError, let since = error.unreachableSince else { return false }
            return error.description.contains("registry unreachable since \(since.formatted(.iso8601))") && Date().timeIntervalSince(since) < 60
        }
        await resolver.shutdown()
    }

    @Test("404, 401, 429 and 5xx are answers: they never open the circuit")
    func answersKeepItClosed() async throws {
        let statuses = [404, 401, 429, 503]
        try await ScriptedHTTPServer.withRunning({ _, _, index in .init(status: statuses[index % statuses.count]) }) { server in
            let resolver = makeResolver(scripted: [server.host]) {
                $0.maxRetries = 0
                $0.negativeCacheTTL = .zero
                $0.circuitBreaker = CircuitBreakerPolicy(failureThreshold: 1)
            }
            for i in 0..<8 {
                _ = try? await resolver.resolve(ImageReference.parse("\(server.host)/app:t\(i)"), deadline: soon())
                #expect(resolver.circuitState(host: server.host) == .closed)
            }
        }
    }
}

/// A value shared with child tasks.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<T>(_ body: (inout Value) -> T) -> T { mutex.withLock { body(&$0) } }
}

/// Polls `condition` for up to a second.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<100 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
