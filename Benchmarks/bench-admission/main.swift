// bench-admission: what one kate webhook replica sustains on this machine.
//
// Cached path: a ~10 KB Pod review whose tags kate already knows, POSTed over TLS with keep-alive
// by wrk at 1/16/64 connections as fast as they go (the capacity), then at 64 connections paced to
// BENCH_RATE (default 10,000/s: the latency at the target load; targets >= 10,000 reviews/s and
// p99 < 5 ms at 64). Twice: a ReplicaSet pod (answered from the owner-revision memory, the common
// case in a rollout) and a bare pod (answered from the resolver's cache). Every row also prints the
// CPU the server process and wrk spent per review; a first section measures decode + pin + encode
// without the network. BENCH_CONNECTIONS="64" limits the rows (e.g. under a profiler).
// Cold path: 5 containers with 5 tags, the registry behind a 50 ms-per-round-trip DelayProxy and
// no cache: the review's p99 against one tag's cold resolve time (target < 1.5x: the tags
// resolve in parallel).
import Foundation
import KateAdmission
import KateNet
import KateRegistry
import Logging
import RegistryTestSupport

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("bench-admission: " + message + "\n").utf8))
    exit(1)
}

var logger = Logger(label: "bench-admission")
logger.logLevel = .error

let duration = ProcessInfo.processInfo.environment["BENCH_DURATION"] ?? "8s"
let coldRounds = Int(ProcessInfo.processInfo.environment["BENCH_COLD_ROUNDS"] ?? "") ?? 40
/// BENCH_CONNECTIONS="64" runs only that row (e.g. under a profiler).
let rows = (ProcessInfo.processInfo.environment["BENCH_CONNECTIONS"] ?? "1,16,64").split(separator: ",").compactMap { Int($0) }

let registry = try await TestRegistry.start(.plainHTTP)
let host = registry.host
let tags = ["shop/web:2.4.1", "acme/shop-migrate:v42", "fluent/fluent-bit:3.1"]
for tag in tags {
    let parts = tag.split(separator: ":")
    _ = try await registry.push(repository: String(parts[0]), tag: String(parts[1]))
}

// MARK: Cached path

let pacedRate = Int(ProcessInfo.processInfo.environment["BENCH_RATE"] ?? "") ?? 10_000

func report(_ connections: Int, _ offered: String, _ result: Wrk.Result) {
    print(String(format: "%11d  %-10@ %10.0f %8.2f %8.2f   %16.1f %15.1f   %@", connections, offered, result.requestsPerSecond,
                 result.p50ms, result.p99ms, result.serverMicrosPerRequest, result.wrkMicrosPerRequest, result.errors))
}

/// Microseconds of CPU per cached review without the network: decode, pin, encode, for 2 s.
/// Nonisolated, so the loop runs on the global executor like a request handler does, not on
/// the main actor (which would add two executor hops per review).
nonisolated func cpuPerReview(_ review: [UInt8], pinner: PodPinner, logger: Logger) async throws -> Double {
    // BENCH_CPU_ITERATIONS fixes the count instead of the time (for `perf stat -e instructions`).
    let fixed = Int(ProcessInfo.processInfo.environment["BENCH_CPU_ITERATIONS"] ?? "")
    var iterations = 0
    let clock = ContinuousClock()
    let started = clock.now
    let cpuBefore = Wrk.cpuSeconds(RUSAGE_SELF)
    while fixed.map({ iterations < $0 }) ?? (clock.now - started < .seconds(2)) {
        for _ in 0..<500 {
            let decoded = try AdmissionReviewDecoder.decode(review)
            let report = await pinner.pin(decoded.request, deadline: .now + .seconds(10), logger: logger)
            guard report.pinnedImages > 0 else { fail("in-process review was not pinned: \(report.outcome)") }
            _ = report.response.encode(version: decoded.version)
        }
        iterations += 500
    }
    // Process CPU time rather than wall time: the rest of the process is idle meanwhile, and
    // CPU time does not count the time other programs on a shared machine held the core.
    return (Wrk.cpuSeconds(RUSAGE_SELF) - cpuBefore) * 1e6 / Double(iterations)
}

let resolver = Resolver(configuration: ResolverConfiguration(registries: [host: registry.settings]), logger: logger)
let pinner = PodPinner(configuration: AdmissionConfiguration(), resolver: resolver, keyrings: StaticKeyringProvider(node: .empty))
let server = try await BenchServer.start(MutatingWebhook(pinner: pinner, logger: logger), logger: logger)
let reviews = [
    ("ReplicaSet pod (owner-revision memory)", try BenchReview.cached(host: host, bare: false)),
    ("bare pod (resolver cache)", try BenchReview.cached(host: host, bare: true)),
]
print("server https://127.0.0.1:\(server.port)/mutate (TLS, keep-alive), review bodies \(reviews.map { "\($0.1.count)" }.joined(separator: "/")) bytes")
// CPU per review without the network: decode, pin (from the cache) and encode, one task. What
// the HTTP/TLS stack and wrk leave on two cores is shared with this.
print("\nin-process, no network: decode + pin + encode, one review at a time")
for (label, review) in reviews {
    let micros = try await cpuPerReview(review, pinner: pinner, logger: logger)
    print(String(format: "%@: %.1f µs per review (%.0f reviews/s on one core)", label, micros, 1e6 / micros))
}

if ProcessInfo.processInfo.environment["BENCH_CPU_ONLY"] == "1" { exit(0) }

for (label, review) in reviews {
    let warm = try await server.post(review)
    guard warm.status == 200, String(decoding: warm.body, as: UTF8.self).contains("\"patchType\":\"JSONPatch\"") else {
        fail("warm-up review was not pinned: HTTP \(warm.status) \(String(decoding: warm.body, as: UTF8.self))")
    }
    let work = try Wrk(body: review, url: "https://127.0.0.1:\(server.port)/mutate?timeout=10s")
    print("\ncached path, \(label) (wrk, \(duration) per row)")
    print("connections  offered      reviews/s   p50 ms   p99 ms   server µs/review   wrk µs/review   errors")
    for connections in rows {
        report(connections, "max", try work.run(connections: connections, duration: duration))
    }
    // The issue's target as a load: 10,000 reviews/s spread over 64 connections.
    if rows.contains(64) { report(64, "10,000/s", try work.run(connections: 64, duration: duration, rate: pacedRate)) }
    work.cleanUp()
}

// Baseline: the same server, TLS and body with a responder that answers a fixed allow without
// reading the review: the ceiling the HTTP/TLS stack leaves admission on this machine.
let baseline = try await BenchServer.start(
    ClosureResponder { _, _ in .json(200, Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"x","allowed":true}}"#.utf8)) },
    logger: logger)
let baselineWork = try Wrk(body: reviews[0].1, url: "https://127.0.0.1:\(baseline.port)/mutate?timeout=10s")
print("\nbaseline, same server without admission (fixed answer)")
print("connections  offered      reviews/s   p50 ms   p99 ms   server µs/review   wrk µs/review   errors")
report(64, "max", try baselineWork.run(connections: 64, duration: duration))
report(64, "10,000/s", try baselineWork.run(connections: 64, duration: duration, rate: pacedRate))
baselineWork.cleanUp()
await baseline.stop()

// MARK: Cold path

let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: .milliseconds(50))
let coldHost = "127.0.0.1:\(proxy.port)"
let coldTags = (1...5).map { "cold/app\($0):v1" }
for tag in coldTags {
    let parts = tag.split(separator: ":")
    _ = try await registry.push(repository: String(parts[0]), tag: String(parts[1]))
}
// No cache: every review is a cold lookup of all five tags through the 50 ms proxy.
let coldResolver = Resolver(
    configuration: ResolverConfiguration(registries: [coldHost: RegistrySettings(plainHTTP: true)], cacheTTL: .zero), logger: logger)
let coldPinner = PodPinner(configuration: AdmissionConfiguration(), resolver: coldResolver, keyrings: StaticKeyringProvider(node: .empty))
let coldServer = try await BenchServer.start(MutatingWebhook(pinner: coldPinner, logger: logger), logger: logger)
let single = try ImageReference.parse("\(coldHost)/\(coldTags[0])")
var singleTimes: [Duration] = []
for _ in 0..<coldRounds {
    let start = ContinuousClock.now
    _ = try await coldResolver.resolve(single, deadline: .now + .seconds(10))
    singleTimes.append(ContinuousClock.now - start)
}
let coldReview = try BenchReview.fiveContainers(host: coldHost, tags: coldTags)
var reviewTimes: [Duration] = []
for _ in 0..<coldRounds {
    let start = ContinuousClock.now
    let response = try await coldServer.post(coldReview)
    reviewTimes.append(ContinuousClock.now - start)
    guard response.status == 200, String(decoding: response.body, as: UTF8.self).contains("JSONPatch") else {
        fail("cold review failed: HTTP \(response.status) \(String(decoding: response.body, as: UTF8.self))")
    }
}
let singleP99 = Percentiles(singleTimes), reviewP99 = Percentiles(reviewTimes)
print("\ncold path (registry behind a 50 ms DelayProxy, no cache, \(coldRounds) rounds)")
print(String(format: "one tag, resolver:        p50 %7.1f ms   p99 %7.1f ms", singleP99.p50, singleP99.p99))
print(String(format: "5 containers/5 tags, review: p50 %7.1f ms   p99 %7.1f ms", reviewP99.p50, reviewP99.p99))
print(String(format: "ratio review p99 / one-tag p99: %.2fx (target < 1.5x)", reviewP99.p99 / singleP99.p99))

await coldServer.stop()
await server.stop()
await proxy.stop()
await registry.stop()
