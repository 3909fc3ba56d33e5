import Foundation
import KateContract
import KateKube
import KateNet
import KubeTestServer
import Logging

// The digest ledger against the loopback test API server (TLS), for issue #17: how fast kate can
// record resolutions of 500 tags (create, then one new digest per tag), how long a record takes to
// reach another replica's watch-backed copy, and — as the baseline in the same run — plain Lease
// GETs, i.e. what one API round trip costs here. CPU is the whole process's (client and in-process
// server together), per operation. Then what the cooldown gate costs a cached review
// (CooldownCost.swift; BENCH_COOLDOWN_ROUNDS, BENCH_COOLDOWN_SLICE).

let tagCount = 500
let concurrency = 8
var logger = Logger(label: "bench-ledger")
logger.logLevel = .warning

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// Runs `operation(i)` for i in 0..<count, `concurrency` at a time; prints ops/s and CPU per op.
func measure(_ label: String?, count: Int, _ operation: @escaping @Sendable (Int) async throws -> Void) async throws {
    let cpu = cpuSeconds()
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<concurrency {
            group.addTask {
                var index = worker
                while index < count {
                    try await operation(index)
                    index += concurrency
                }
            }
        }
        try await group.waitForAll()
    }
    let wall = seconds(ContinuousClock.now - start)
    let used = cpuSeconds() - cpu
    guard let label else { return }
    let padded = label.padding(toLength: 36, withPad: " ", startingAt: 0)
    print("  " + padded + String(format: "%6.0f ops/s   %6.3f ms CPU/op   (%d ops in %.2f s)", Double(count) / wall, used * 1000 / Double(count), count, wall))
}

let server = try await KubeTestServer.start(logger: logger)
server.setRecording(false)
let client = KubeClient(configuration: server.clientConfiguration, logger: logger)
let ledger = DigestLedger(client: client, namespace: "kate")
let reference: @Sendable (Int) -> String = { "registry.example.com/team-\($0 % 20)/app-\($0):1.\($0 % 7)" }
let digest: @Sendable (Int, Int) -> String = { tag, version in "sha256:" + SHA256.hex(SHA256.hash(Array("\(tag)/\(version)".utf8))) }
_ = try await client.createLease(Lease(metadata: ObjectMeta(name: "baseline"), spec: LeaseSpec(holderIdentity: "bench")), namespace: "kate")

print("bench-ledger: \(tagCount) tags, \(concurrency) concurrent writers, one client, test API server over TLS (release: scripts/bench-ledger.sh)")
// Warm-up, not shown: one TLS connection per concurrent writer, and the first decodes.
try await measure(nil, count: tagCount) { _ in _ = try await client.getLease(namespace: "kate", name: "baseline") }
try await measure("baseline: GET lease", count: tagCount) { _ in _ = try await client.getLease(namespace: "kate", name: "baseline") }
let base = Date()
try await measure("record, new tag (GET 404 + POST)", count: tagCount) { i in
    _ = try await ledger.record(reference: reference(i), digest: digest(i, 1), at: base)
}
try await measure("record, new digest (GET + PUT)", count: tagCount) { i in
    _ = try await ledger.record(reference: reference(i), digest: digest(i, 2), at: base + 120)
}
try await measure("record, repeat inside 60 s (GET)", count: tagCount) { i in
    _ = try await ledger.record(reference: reference(i), digest: digest(i, 2), at: base + 130)
}

// Propagation: a record on one client until a second client's watch-backed reader has it.
let readerClient = KubeClient(configuration: server.clientConfiguration, logger: logger)
let reader = DigestLedgerReader(client: readerClient, namespace: "kate")
let following = Task { try await reader.run() }
while !reader.isSynced { try await Task.sleep(for: .milliseconds(5)) }
var latencies: [Double] = []
for i in 0..<200 {
    let start = ContinuousClock.now
    _ = try await ledger.record(reference: reference(i), digest: digest(i, 3), at: base + 300)
    while reader.firstSeen(reference: reference(i), digest: digest(i, 3)) == nil { try await Task.sleep(for: .microseconds(200)) }
    latencies.append(seconds(ContinuousClock.now - start) * 1000)
}
following.cancel()
_ = try? await following.value
latencies.sort()
print(String(format: "  record → other replica's copy       median %.2f ms, p99 %.2f ms, max %.2f ms (200 records, incl. the write)",
             latencies[latencies.count / 2], latencies[latencies.count * 99 / 100], latencies[latencies.count - 1]))
print("  stored: \(server.count(.imageTagHistories)) ImageTagHistory objects")
let environment = ProcessInfo.processInfo.environment
try await CooldownCost.run(
    server: server, rounds: Int(environment["BENCH_COOLDOWN_ROUNDS"] ?? "") ?? 5, slice: Double(environment["BENCH_COOLDOWN_SLICE"] ?? "") ?? 0.4, logger: logger)
await readerClient.shutdown()
await client.shutdown()
await server.stop()
