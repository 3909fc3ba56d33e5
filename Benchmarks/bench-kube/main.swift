import Foundation
import KateKube
import KateNet
import KubeTestServer
import Logging

// Lists 10,000 Pods, 500 a page, from the loopback test API server over TLS and decodes them, the
// way the sweeper starts every run. Prints wall time for the list and the peak RSS of the process
// (which also holds the test server and its 10,000 stored pods).

/// VmHWM from /proc/self/status, in KiB (0 where /proc is missing).
func peakRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

func currentRSSKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}

/// Decodes nothing: used to read only a page's `metadata.continue`.
struct Empty: Decodable, Sendable {}

let podCount = 10_000
let pageSize = 500
var logger = Logger(label: "bench-kube")
logger.logLevel = .warning

let server = try await KubeTestServer.start(logger: logger)
server.setRecording(false)
// 40 Deployments × 250 Pods over 20 namespaces, each Pod with an app container and a sidecar.
for index in 0..<40 {
    try server.addDeployment(
        namespace: "team-\(index % 20)", name: "app-\(index)",
        containers: [TestContainer(name: "app", image: "ghcr.io/acme/app-\(index):1.\(index)"), TestContainer(name: "proxy", image: "envoyproxy/envoy:v1.31")],
        replicas: podCount / 40
    )
}
let rssBeforeList = currentRSSKiB()
let peakBeforeList = peakRSSKiB()
let client = KubeClient(configuration: server.clientConfiguration, logger: logger)

// One warm-up call (TLS handshake, first connection) outside the timing.
_ = try await client.listPods(namespace: "team-0", pageSize: 1)

let start = ContinuousClock.now
let pods = try await client.listPods(namespace: nil, pageSize: pageSize)
let elapsed = ContinuousClock.now - start
let peakAfterList = peakRSSKiB()
let statuses = pods.reduce(0) { $0 + ($1.status?.containerStatuses?.count ?? 0) }

let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("bench-kube: listed \(pods.count) pods (\(statuses) container statuses) in \(podCount / pageSize) pages of \(pageSize)")
print(String(format: "  wall time      %.3f s  (%.0f pods/s)", seconds, Double(pods.count) / seconds))
print(String(format: "  peak RSS       %.1f MiB (VmHWM after the list; includes the in-process test server)", Double(peakAfterList) / 1024))
print(String(format: "  RSS before list %.1f MiB (server + 10,000 stored pods; peak so far %.1f MiB)", Double(rssBeforeList) / 1024, Double(peakBeforeList) / 1024))
print("  targets        < 2 s and < 100 MiB")

// Where the time goes: the same pages fetched raw (server + TLS + HTTP), then decoded alone.
let http = HTTPClient(configuration: .init(tls: server.clientConfiguration.tls), logger: logger)
var bodies: [[UInt8]] = []
var token: String?
let fetchStart = ContinuousClock.now
repeat {
    var url = "\(server.url)/api/v1/pods?limit=\(pageSize)"
    if let token { url += "&continue=\(token)" }
    let response = try await http.execute(
        HTTPClientRequest(url: url, headers: ["Authorization": "Bearer \(server.token)", "Accept": "application/json"]), deadline: .now + .seconds(30)
    )
    bodies.append(response.body)
    token = try JSONDecoder().decode(ObjectList<Empty>.self, from: Data(response.body)).metadata.continue.flatMap { $0.isEmpty ? nil : $0 }
} while token != nil
let fetchElapsed = ContinuousClock.now - fetchStart
let decodeStart = ContinuousClock.now
var decoded = 0
for body in bodies { decoded += try JSONDecoder().decode(ObjectList<Pod>.self, from: Data(body)).items.count }
let decodeElapsed = ContinuousClock.now - decodeStart
let megabytes = Double(bodies.reduce(0) { $0 + $1.count }) / 1_048_576
print(String(format: "  breakdown      fetch %.3f s (%.1f MiB of JSON), decode %.3f s (%d pods)", Double(fetchElapsed.components.attoseconds) / 1e18 + Double(fetchElapsed.components.seconds), megabytes, Double(decodeElapsed.components.attoseconds) / 1e18 + Double(decodeElapsed.components.seconds), decoded))
await http.shutdown()
print(String(format: "  peak RSS after the breakdown %.1f MiB (diagnostic only: it holds all 20 raw pages at once)", Double(peakRSSKiB()) / 1024))
await client.shutdown()
await server.stop()
guard pods.count == podCount else {
    print("bench-kube: FAILED: expected \(podCount) pods")
    exit(1)
}
