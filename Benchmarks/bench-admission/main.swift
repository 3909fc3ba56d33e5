// bench-admission: the webhook as it ships, against a minimal Go webhook, in one run.
//
// Servers, each its own process on 127.0.0.1 (so /proc/PID/stat gives each one's CPU alone):
//   kate (chart defaults)  the release `kate webhook` binary with the arguments
//                          charts/kate/templates/webhook-deployment.yaml renders from the default
//                          charts/kate/values.yaml (log json/info, cache 5m, …) plus the mounted
//                          docker config and registry config;
//   kate (chart, log off)  the same with --log-level critical: what logging costs;
//   kate (default flags)   `kate webhook` with only what it cannot run without (listen address,
//                          certificate, docker config, registry config): text logs at info;
//   go net/http            Benchmarks/go-baseline-webhook: encoding/json decode, a fixed
//                          image → digest map, a JSON Patch answer; no logging.
// Reviews: bare pods (no owner, so every image goes through kate's resolver cache) of 1, 3 and
// 20 images, anonymous (plain-HTTP registry without auth) and credentialed (half on an htpasswd
// Basic-auth registry, half on a token-auth registry, credentials from the docker config).
// Caches are warm: one review per shape first. wrk, 64 keep-alive TLS connections, as fast as it
// goes (BENCH_DURATION per row, default 5s), and paced to BENCH_RATE (10,000/s) for 1 image.
// Each row prints req/s, p50/p99, the server's CPU per review and wrk's.
// Outage rows: kate (chart defaults) reviewing images on a registry that refuses connections,
// and on one that accepts and never answers: the issue's burst (200 new tags at concurrency 16,
// through Benchmarks/go-burst-client and through kate's own client), then wrk at 16 connections.
// Env: KATE_BINARY, GO_BASELINE_BINARY, GO_BURST_CLIENT (scripts/bench-admission.sh builds all three), BENCH_DURATION,
// BENCH_RATE, BENCH_OUTAGE_DURATION (default 20s), BENCH_ONLY_IMAGES (e.g. "20"), KATE_WRAPPER (a profiler
// command the chart-defaults kate runs under).
import Foundation
import KateAdmission
import KateNet
import Logging
import RegistryTestSupport

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("bench-admission: " + message + "\n").utf8))
    exit(1)
}

let environment = ProcessInfo.processInfo.environment
guard let kateBinary = environment["KATE_BINARY"], let goBinary = environment["GO_BASELINE_BINARY"],
    let goBurstBinary = environment["GO_BURST_CLIENT"]
else {
    fail("set KATE_BINARY, GO_BASELINE_BINARY and GO_BURST_CLIENT (run scripts/bench-admission.sh)")
}
let duration = environment["BENCH_DURATION"] ?? "5s"
let pacedRate = Int(environment["BENCH_RATE"] ?? "") ?? 10_000
let outageDuration = environment["BENCH_OUTAGE_DURATION"] ?? "20s"
let shapes = (environment["BENCH_ONLY_IMAGES"] ?? "1,3,20").split(separator: ",").compactMap { Int($0) }

var logger = Logger(label: "bench-admission")
logger.logLevel = .error

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kate-bench-admission-run-\(getpid())")
let fixtures = try await BenchFixtures.start(directory: directory)
let machine = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
print("bench-admission: \(ProcessInfo.processInfo.activeProcessorCount) cores, load average before the run \(machine); wrk -c 64 -t 2, \(duration) per row")
print("kate: \(kateBinary)\ngo:   \(goBinary)\n")

// MARK: In process

print("in process, no network: decode + pin (resolver cache, real keyring) + encode of one review, CPU per review")
let inProcessPinner = try InProcess.pinner(fixtures, logger: logger)
for images in shapes {
    var micros: [String: Double] = [:]
    for (label, pool) in [("anon", fixtures.anonymousImages), ("cred", fixtures.credentialedImages)] {
        micros[label] = try await InProcess.cpuPerReview(try BenchReview.pod(images: Array(pool.prefix(images))), images: images, pinner: inProcessPinner, logger: logger)
    }
    print(String(format: "%2d images: anonymous %.1f µs, credentialed %.1f µs (%.2fx)", images, micros["anon"] ?? 0, micros["cred"] ?? 0,
                 (micros["cred"] ?? 0) / max(0.001, micros["anon"] ?? 0)))
    if environment["BENCH_BREAKDOWN"] == "1" {
        for (label, pool) in [("anon", fixtures.anonymousImages), ("cred", fixtures.credentialedImages)] {
            let review = try BenchReview.pod(images: Array(pool.prefix(images)))
            let parts = try await InProcess.breakdown(review, pinner: inProcessPinner, logger: logger)
            print(String(format: "   %@ %d bytes: decode %.1f µs, pin %.1f µs, encode %.1f µs", label, review.count, parts.decode, parts.pin, parts.encode))
        }
    }
}
print("\nin process: the /mutate responder with the JSON log handler at info (to /dev/null) and at critical, taking turns")
for (images, credentials, pool) in [(1, "anon", fixtures.anonymousImages), (20, "cred", fixtures.credentialedImages)] where shapes.contains(images) {
    let cost = try await InProcess.loggingCost(try BenchReview.pod(images: Array(pool.prefix(images))), fixtures: fixtures)
    let on = cost.on.sorted()[1], off = cost.off.sorted()[1]
    print(String(format: "%2d images %@: json/info %@ µs (median %.1f), off %@ µs (median %.1f): json/info %+.1f %%", images, credentials,
                 cost.on.map { String(format: "%.1f", $0) }.joined(separator: "/"), on, cost.off.map { String(format: "%.1f", $0) }.joined(separator: "/"),
                 off, (on / max(0.001, off) - 1) * 100))
}
print("")

// MARK: The servers

/// `kate webhook` as charts/kate/templates/webhook-deployment.yaml renders it with the default
/// values.yaml (listen host 0.0.0.0 → 127.0.0.1 here: only loopback is used), with
/// registry.dockerConfig.secretName and registry.config set (→ --docker-config, --registry-config).
func chartArguments(port: Int, healthPort: Int, logLevel: String = "info", registryConfig: String = fixtures.registryConfig) -> [String] {
    [
        "webhook",
        "--listen=127.0.0.1:\(port)",
        "--health-listen=127.0.0.1:\(healthPort)",
        "--tls-cert=\(fixtures.certFile)",
        "--tls-key=\(fixtures.keyFile)",
        "--cert-reload-interval=10s",
        "--log-level=\(logLevel)",
        "--log-format=json",
        "--mode=pin",
        "--failure-mode=open",
        "--skip-namespace=kube-system",
        "--skip-namespace=kate-system",
        "--default-timeout=10s",
        "--timeout-margin=1s",
        "--stale-if-error=24h",
        "--pull-secrets=auto",
        "--cache-ttl=5m",
        "--negative-cache-ttl=30s",
        "--registry-concurrency=32",
        "--registry-timeout=8s",
        "--docker-config=\(fixtures.dockerConfig)",
        "--registry-config=\(registryConfig)",
        "--grace-period=20s",
    ]
}
let chartEnvironment = ["POD_NAMESPACE": "kate-system"]

let digestsFile = directory.appendingPathComponent("digests.json")
try JSONSerialization.data(withJSONObject: fixtures.digests).write(to: digestsFile)

let chartPort = WebhookProcess.freePort()
// KATE_WRAPPER (e.g. "/usr/bin/valgrind --tool=callgrind") runs the chart-defaults kate under a profiler.
let wrapper = (environment["KATE_WRAPPER"] ?? "").split(separator: " ").map(String.init)
let kateChart = try WebhookProcess(
    name: "kate (chart defaults)", executable: wrapper.first ?? kateBinary,
    arguments: Array(wrapper.dropFirst()) + (wrapper.isEmpty ? [] : [kateBinary]) + chartArguments(port: chartPort, healthPort: WebhookProcess.freePort()),
    environment: chartEnvironment, port: chartPort, logDirectory: directory)
let offPort = WebhookProcess.freePort()
let kateOff = try WebhookProcess(
    name: "kate (chart, log off)", executable: kateBinary,
    arguments: chartArguments(port: offPort, healthPort: WebhookProcess.freePort(), logLevel: "critical"),
    environment: chartEnvironment, port: offPort, logDirectory: directory)
let defaultPort = WebhookProcess.freePort()
let kateDefault = try WebhookProcess(
    name: "kate (default flags)", executable: kateBinary,
    arguments: ["webhook", "--listen=127.0.0.1:\(defaultPort)", "--tls-cert=\(fixtures.certFile)", "--tls-key=\(fixtures.keyFile)",
                "--docker-config=\(fixtures.dockerConfig)", "--registry-config=\(fixtures.registryConfig)"],
    port: defaultPort, logDirectory: directory)
let goPort = WebhookProcess.freePort()
let goBaseline = try WebhookProcess(
    name: "go net/http", executable: goBinary,
    arguments: ["-listen", "127.0.0.1:\(goPort)", "-cert", fixtures.certFile, "-key", fixtures.keyFile, "-digests", digestsFile.path],
    environment: ["GOMAXPROCS": "2"], port: goPort, logDirectory: directory)
let servers = [kateChart, kateOff, kateDefault, goBaseline]

let client = HTTPClient(
    // 16 idle connections kept: the outage rows send 16 reviews at a time, and a TLS handshake per review would be
    // measured as kate's latency.
    configuration: .init(
        tls: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(fixtures.caPEM)], serverNameOverride: "kate.kate-system.svc"),
        maxIdleConnectionsPerHost: 16),
    logger: logger)

/// One review through `server`; fails the benchmark unless every image came back pinned.
func warm(_ server: WebhookProcess, _ review: [UInt8], images: Int) async throws {
    let response = try await client.execute(
        HTTPClientRequest(method: "POST", url: "https://127.0.0.1:\(server.port)/mutate?timeout=10s", headers: ["Content-Type": "application/json"], body: review),
        deadline: .now + .seconds(30))
    let text = String(decoding: response.body, as: UTF8.self)
    guard response.status == 200, let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
        let answer = object["response"] as? [String: Any], let patch = (answer["patch"] as? String).flatMap({ Data(base64Encoded: $0) }),
        let operations = try? JSONSerialization.jsonObject(with: patch) as? [[String: Any]]
    else { fail("\(server.name): warm-up review was not pinned: HTTP \(response.status) \(text.prefix(600))\n\(server.log.suffix(2000))") }
    let pinned = operations.filter { ($0["path"] as? String)?.hasSuffix("/image") == true && ($0["value"] as? String)?.contains("@sha256:") == true }
    guard pinned.count == images else { fail("\(server.name): \(pinned.count) of \(images) images pinned in the warm-up: \(text.prefix(600))") }
}

// MARK: Rows

struct Row {
    var server: String
    var images: Int
    var credentials: String
    var offered: String
    var result: Wrk.Result
}
var rows: [Row] = []

func header() {
    print("server                   images  creds   offered       req/s   p50 ms   p99 ms  server µs/review  wrk µs/review  errors")
}

/// `text` padded with spaces to `width` (String(format:) pads `%@` by UTF-16 units of NSString, unreliably).
func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }

func printRow(_ row: Row) {
    print(pad(row.server, 24) + String(format: " %6d  ", row.images) + pad(row.credentials, 6) + " " + pad(row.offered, 9) + String(format: " %9.0f %8.2f %8.2f %17.1f %14.1f  %@",
                 row.result.requestsPerSecond, row.result.p50ms, row.result.p99ms, row.result.serverMicrosPerRequest,
                 row.result.wrkMicrosPerRequest, row.result.errors))
    fflush(nil)
}

header()
for images in shapes {
    for (label, pool) in [("anon", fixtures.anonymousImages), ("cred", fixtures.credentialedImages)] {
        let review = try BenchReview.pod(images: Array(pool.prefix(images)))
        for server in servers { try await warm(server, review, images: images) }
        for server in servers {
            let work = try Wrk(body: review, url: "https://127.0.0.1:\(server.port)/mutate?timeout=10s")
            let result = try work.run(connections: 64, duration: duration, serverCPU: server.cpuSeconds)
            let row = Row(server: server.name, images: images, credentials: label, offered: "max", result: result)
            rows.append(row)
            printRow(row)
            if images == 1, server === kateChart || server === goBaseline {
                let paced = try work.run(connections: 64, duration: duration, rate: pacedRate, serverCPU: server.cpuSeconds)
                let pacedRow = Row(server: server.name, images: images, credentials: label, offered: "\(pacedRate / 1000)k/s", result: paced)
                rows.append(pacedRow)
                printRow(pacedRow)
            }
            work.cleanUp()
        }
    }
}

// MARK: Comparison

@MainActor func find(_ server: WebhookProcess, _ images: Int, _ credentials: String, _ offered: String = "max") -> Wrk.Result? {
    rows.first { $0.server == server.name && $0.images == images && $0.credentials == credentials && $0.offered == offered }?.result
}

print("\nkate (chart defaults) against go net/http, saturated (ratio > 1: kate ahead on req/s; < 1: kate cheaper on CPU)")
print("images  creds   kate req/s   go req/s   ratio   kate µs/review   go µs/review   ratio")
for images in shapes {
    for credentials in ["anon", "cred"] {
        guard let kate = find(kateChart, images, credentials), let go = find(goBaseline, images, credentials) else { continue }
        print(String(format: "%6d  ", images) + pad(credentials, 6) + String(format: " %10.0f %10.0f %6.2fx %16.1f %14.1f %6.2fx", kate.requestsPerSecond, go.requestsPerSecond,
                     kate.requestsPerSecond / max(1, go.requestsPerSecond), kate.serverMicrosPerRequest, go.serverMicrosPerRequest,
                     kate.serverMicrosPerRequest / max(0.001, go.serverMicrosPerRequest)))
    }
}
print("\nwhat logging and credentials cost kate (server CPU per review, saturated)")
for images in shapes {
    for credentials in ["anon", "cred"] {
        guard let on = find(kateChart, images, credentials), let off = find(kateOff, images, credentials),
            let text = find(kateDefault, images, credentials)
        else { continue }
        print(String(format: "%2d images %@: json/info %.1f µs, logging off %.1f µs (json/info %+.1f %%), text/info default flags %.1f µs (%+.1f %%)",
                     images, credentials, on.serverMicrosPerRequest, off.serverMicrosPerRequest,
                     (on.serverMicrosPerRequest / max(0.001, off.serverMicrosPerRequest) - 1) * 100, text.serverMicrosPerRequest,
                     (text.serverMicrosPerRequest / max(0.001, off.serverMicrosPerRequest) - 1) * 100))
    }
    if let cred = find(kateChart, images, "cred"), let anon = find(kateChart, images, "anon") {
        print(String(format: "%2d images credentialed / anonymous CPU per review (chart defaults): %.2fx", images,
                     cred.serverMicrosPerRequest / max(0.001, anon.serverMicrosPerRequest)))
    }
}
// A single saturated row per server is at the mercy of whatever else the two cores run; for the
// "logging costs ≤ 5 %" question the two kate configurations take turns, three rows each.
print("\nlogging cost, kate (chart defaults: json/info) and kate (chart, log off) taking turns, 3 rows each, saturated, CPU per review")
for (images, credentials, pool) in [(1, "anon", fixtures.anonymousImages), (20, "cred", fixtures.credentialedImages)] where shapes.contains(images) {
    let review = try BenchReview.pod(images: Array(pool.prefix(images)))
    var on: [Double] = [], off: [Double] = []
    for _ in 0..<3 {
        for (server, into) in [(kateChart, 0), (kateOff, 1)] {
            let work = try Wrk(body: review, url: "https://127.0.0.1:\(server.port)/mutate?timeout=10s")
            let micros = try work.run(connections: 64, duration: duration, serverCPU: server.cpuSeconds).serverMicrosPerRequest
            work.cleanUp()
            if into == 0 { on.append(micros) } else { off.append(micros) }
        }
    }
    let medianOn = on.sorted()[1], medianOff = off.sorted()[1]
    print(String(format: "%2d images %@: json/info %@ µs (median %.1f), off %@ µs (median %.1f): json/info %+.1f %%", images, credentials,
                 on.map { String(format: "%.1f", $0) }.joined(separator: "/"), medianOn, off.map { String(format: "%.1f", $0) }.joined(separator: "/"),
                 medianOff, (medianOn / max(0.001, medianOff) - 1) * 100))
}
print("log bytes written during the run: " + servers.dropLast().map { "\($0.name) \($0.logBytes)" }.joined(separator: ", "))
print("RSS after the run: " + servers.map { String(format: "%@ %.1f MiB", $0.name, $0.rssMiB()) }.joined(separator: ", "))
for server in servers { server.stop() }

// MARK: Outage

// A registry that refuses connections (a port nothing listens on) and one that accepts and never
// answers (a listener in this process that holds every connection), both reachable over plain HTTP.
let hung = try TCPListener(host: "127.0.0.1", port: 0)
let holder = Task {
    var held: [TCPStream] = []
    while let stream = try? await hung.accept() { held.append(stream) }
    for stream in held { await stream.close() }
}
let refusedHost = "127.0.0.1:\(WebhookProcess.freePort())", hungHost = "127.0.0.1:\(hung.localPort)"
let outageConfig = directory.appendingPathComponent("outage-registry-config.json")
try JSONSerialization.data(withJSONObject: ["registries": [refusedHost: ["plainHTTP": true], hungHost: ["plainHTTP": true]]]).write(to: outageConfig)
let outagePort = WebhookProcess.freePort()
let kateOutage = try WebhookProcess(
    name: "kate (chart defaults)", executable: kateBinary,
    arguments: chartArguments(port: outagePort, healthPort: WebhookProcess.freePort(), registryConfig: outageConfig.path),
    environment: chartEnvironment, port: outagePort, logDirectory: directory.appendingPathComponent("outage", isDirectory: true).creatingDirectory())
/// One review's wall time through `server`, whatever its answer (a fail-open review is an answer).
func timedReview(port: Int, _ review: [UInt8]) async -> Duration {
    let begin = ContinuousClock.now
    _ = try? await client.execute(
        HTTPClientRequest(method: "POST", url: "https://127.0.0.1:\(port)/mutate?timeout=10s", headers: ["Content-Type": "application/json"], body: review),
        deadline: .now + .seconds(15))
    return ContinuousClock.now - begin
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

// The issue's measurement: the first detection (16 reviews at once, each waits at most one registry timeout), then
// 200 reviews of other tags on that registry at concurrency 16, each review's own latency (no coordinated-omission
// correction: these are the answers the API server gets). Then wrk for BENCH_OUTAGE_DURATION, which spans the
// circuit's probes (one review per probe waits for it; wrk's p99 is corrected for coordinated omission, so a probe
// that holds one connection for the registry timeout shows as many slow samples).
let outageServerPort = kateOutage.port
/// 200 reviews at concurrency 16 through this process's client, each one's wall time, sorted. The bodies are built
/// first: building one (a file read and two JSONSerialization passes) inside the burst held the client's two
/// cooperative threads and showed as latency of the reviews in flight.
func burst(port: Int, _ review: (Int) -> [UInt8]) async -> [Duration] {
    let bodies = (0..<200).map(review)
    return await withTaskGroup(of: [Duration].self) { group in
        for worker in 0..<16 {
            group.addTask {
                var mine: [Duration] = []
                for i in stride(from: worker, to: 200, by: 16) { mine.append(await timedReview(port: port, bodies[i])) }
                return mine
            }
        }
        var all: [Duration] = []
        for await part in group { all += part }
        return all.sorted()
    }
}
func percentiles(_ latencies: [Duration]) -> (p50: Double, p99: Double, max: Double) {
    (milliseconds(latencies[latencies.count / 2]), milliseconds(latencies[Int(Double(latencies.count) * 0.99) - 1]), milliseconds(latencies.last ?? .zero))
}
let goBurst = try GoBurst(binary: goBurstBinary, directory: directory, caPEM: fixtures.caPEM)
print("\noutage: kate (chart defaults), 1-image reviews, registry down; first detection (16 at once), then 200 reviews of new tags at concurrency 16")
print("(go: Benchmarks/go-burst-client, 16 warmed keep-alive connections; server: the smallest kate_admission_duration_seconds")
print(" bucket holding 99 % of the go client's 200 reviews; kate client: the same burst through kate's HTTPClient in this process)")
print("registry                  detection max ms   go p50   go p99   go max  server p99  kate client p50   p99   failed")
func printBurst(_ label: String, detection: String, go: GoBurst.Result, own: (p50: Double, p99: Double, max: Double)) {
    print(pad(label, 26) + pad(detection, 17) + String(format: " %8.2f %8.2f %8.1f   ≤ %4.0f ms  %14.2f %6.2f   %d", go.p50ms, go.p99ms, go.maxms,
                                                        go.serverP99BoundMs, own.p50, own.p99, go.failed))
    if go.serverCounted != 200 { print("  (the histogram counted \(go.serverCounted) reviews, not 200: something else reached the server)") }
    fflush(nil)
}
// The control: the same bursts against a healthy registry whose tag is cached, what this measurement costs when kate
// has nothing to wait for (the clients, TLS, the shared 2 cores), in the same run.
let healthyImage = fixtures.anonymousImages[0]
let healthyReview = (try? BenchReview.pod(images: [healthyImage])) ?? []
// 16 reviews at once first, so this process's client has its 16 connections open (as the Go client's warm-up does).
await withTaskGroup(of: Void.self) { group in
    for _ in 0..<16 { group.addTask { _ = await timedReview(port: outageServerPort, healthyReview) } }
}
let controlGo = try await goBurst.run(port: outageServerPort, image: healthyImage, warmImage: healthyImage)
let control = percentiles(await burst(port: outageServerPort) { _ in healthyReview })
printBurst("healthy, cached (control)", detection: String(repeating: " ", count: 16) + "-", go: controlGo, own: control)
for (label, host) in [("refuses connections", refusedHost), ("accepts, never answers", hungHost)] {
    let detection = await withTaskGroup(of: Duration.self) { group in
        for worker in 0..<16 {
            group.addTask { await timedReview(port: outageServerPort, (try? BenchReview.pod(images: ["\(host)/bench/detect:v\(worker)"])) ?? []) }
        }
        var slowest = Duration.zero
        for await latency in group { slowest = max(slowest, latency) }
        return slowest
    }
    let go = try await goBurst.run(port: outageServerPort, image: "\(host)/bench/go:t%d", warmImage: "\(host)/bench/detect:v0")
    let own = percentiles(await burst(port: outageServerPort) { i in (try? BenchReview.pod(images: ["\(host)/bench/app:t\(i)"])) ?? [] })
    printBurst(label, detection: String(format: " %16.1f", milliseconds(detection)), go: go, own: own)
}
print("\noutage, sustained: wrk -c 16, \(outageDuration), 12 s client timeout (spans the circuit's probes; wrk's p99 is corrected for coordinated omission)")
print("registry                        reviews   req/s   p50 ms    p99 ms  errors")
for (label, host) in [("refuses connections", refusedHost), ("accepts, never answers", hungHost)] {
    let review = try BenchReview.pod(images: ["\(host)/bench/app:v1"])
    let work = try Wrk(body: review, url: "https://127.0.0.1:\(kateOutage.port)/mutate?timeout=10s")
    let result = try work.run(connections: 16, duration: outageDuration, timeout: "12s", serverCPU: kateOutage.cpuSeconds)
    print(pad(label, 30) + String(format: " %8d %7.1f %8.1f %9.1f  %@", result.requests, result.requestsPerSecond, result.p50ms, result.p99ms, result.errors))
    work.cleanUp()
}
kateOutage.stop()
hung.close()
holder.cancel()

await client.shutdown()
await fixtures.stop()
try? FileManager.default.removeItem(at: directory)

extension URL {
    func creatingDirectory() -> URL {
        try? FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
