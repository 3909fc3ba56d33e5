import Foundation
import KateRegistry
import Logging
import RegistryTestSupport
import Synchronization

/// A dead registry (refused, hung, blackholed) with the shipped defaults (8 s timeout, 3 s
/// connect timeout, breaker on): time to the first detection, then 200 lookups of distinct tags
/// at concurrency 16 (p50/p99/max), then the registry comes back on the same port and the time
/// until a lookup is answered again. The same with the breaker off, as the baseline (first 32
/// lookups only: each costs a full timeout).
func outages() async throws {
    print("== outage: 200 lookups of distinct tags, 16 concurrent, after the first detection (defaults: --registry-timeout 8s)")
    print("mode        breaker  detection  lookups  p50        p99        max        first answer after return")
    for mode in DeadRegistry.Mode.allCases {
        for breaker in [true, false] {
            try await outage(mode, breaker: breaker)
        }
    }
}

private func outage(_ mode: DeadRegistry.Mode, breaker: Bool) async throws {
    let dead = try await DeadRegistry.start(mode)
    var logger = Logger(label: "bench.outage")
    logger.logLevel = .critical
    var configuration = ResolverConfiguration()
    configuration.registries[dead.host] = RegistrySettings(plainHTTP: true)
    if !breaker {
        configuration.circuitBreaker = .disabled
        configuration.transportFailureCacheTTL = .zero
    }
    let resolver = Resolver(configuration: configuration, logger: logger)
    let host = dead.host
    let started = ContinuousClock.now
    _ = try? await resolver.resolve(ImageReference.parse("\(host)/app:first"), deadline: .now + .seconds(30))
    let detection = ContinuousClock.now - started

    let count = breaker ? 200 : 32
    let latencies = Mutex<[Duration]>([])
    try await withThrowingTaskGroup(of: [Duration].self) { group in
        for worker in 0..<16 {
            group.addTask {
                var own: [Duration] = []
                for i in stride(from: worker, to: count, by: 16) {
                    let reference = try ImageReference.parse("\(host)/app:t\(i)")
                    let begin = ContinuousClock.now
                    _ = try? await resolver.resolve(reference, deadline: .now + .seconds(30))
                    own.append(ContinuousClock.now - begin)
                }
                return own
            }
        }
        for try await own in group { latencies.withLock { $0 += own } }
    }
    let sorted = latencies.withLock { $0 }.sorted()
    func at(_ q: Double) -> Duration { sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] }

    // Back on the same address: poll every 100 ms until a lookup is answered.
    await dead.release()
    let digest = "sha256:" + String(repeating: "ab", count: 32)
    let server = try await ScriptedHTTPServer.start(port: dead.port) { _, _, _ in
        .init(status: 200, headers: [("Content-Type", ManifestMediaType.dockerManifest), ("Docker-Content-Digest", digest)])
    }
    let back = ContinuousClock.now
    var answered: Duration?
    for attempt in 0..<400 {
        if (try? await resolver.resolve(ImageReference.parse("\(host)/app:back\(attempt)"), deadline: .now + .seconds(30))) != nil {
            answered = ContinuousClock.now - back
            break
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    await server.stop()
    await resolver.shutdown()
    func ms(_ d: Duration) -> String { String(format: "%8.1f ms", seconds(d) * 1000) }
    print(
        mode.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + (breaker ? "on       " : "off      ")
            + String(format: "%7.2f s", seconds(detection)) + "  " + "\(sorted.count)".padding(toLength: 7, withPad: " ", startingAt: 0)
            + "  \(ms(at(0.5)))  \(ms(at(0.99)))  \(ms(sorted.last ?? .zero))  "
            + (answered.map { String(format: "%.2f s", seconds($0)) } ?? "never (40 s)"))
}
