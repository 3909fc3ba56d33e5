import Foundation
import KubeTestServer
import Logging
import RegistryTestSupport

/// Sets up registry, delay proxy and test API server, runs both contenders and prints the figures.
enum BenchDriver {
    static let delay = Duration.milliseconds(50)

    /// Overridable for a quick smoke run (`BENCH_LARGE_PODS=200 BENCH_LARGE_TAGS=40`); the quoted figures use the defaults.
    static let largePods = Int(ProcessInfo.processInfo.environment["BENCH_LARGE_PODS"] ?? "") ?? 10_000
    static let largeTags = Int(ProcessInfo.processInfo.environment["BENCH_LARGE_TAGS"] ?? "") ?? 500

    static func main() async throws {
        let registry = try await TestRegistry.start(.plainHTTP)
        let proxy = try DelayProxy.start(upstreamPort: registry.port, delay: delay)
        print("registry \(registry.host) behind DelayProxy \(proxy.host) (+\(delay) per round trip)")

        var digests: [String] = []
        for index in 0..<max(20, largeTags) {
            digests.append(try await registry.push(repository: "bench/svc\(index)", tag: "v1"))
        }
        let proxyHost = proxy.host

        // Round 1: the old tool's job on 70 pods / 20 tags.
        var quiet = Logger(label: "bench-sweep.kube")
        quiet.logLevel = .warning
        let small = try await KubeTestServer.start(logger: quiet)
        let smallPods = PodFactory.pods(count: 70, tags: 20, registry: proxyHost, digests: digests, staleEvery: 0)
        for pod in smallPods { _ = try small.put(pod.json) }
        let old = try OldWay.run(images: smallPods.map(\.image))
        print(String(format: "old way (sequential skopeo inspect, 70 pods, 20 tags): %.2f s (%d inspections, %d failed)", old.seconds, old.count, old.failures))
        let kate70 = try ChildRunner.run(server: small, registry: proxyHost)
        print("kate sweep --action=report (70 pods, 20 tags): \(kate70.summary)")
        print(String(format: "speed-up: %.0fx (target >= 50x)", old.seconds / max(kate70.seconds, 0.0001)))
        cli(small, registry: proxyHost, label: "70 pods, 20 tags")
        await small.stop()

        // Round 2: kate alone at scale, 10% of pods stale so platform listing and planning run too.
        let large = try await KubeTestServer.start(logger: quiet)
        let pods = PodFactory.pods(count: largePods, tags: largeTags, registry: proxyHost, digests: digests, staleEvery: 10)
        for pod in pods { _ = try large.put(pod.json) }
        let kateLarge = try ChildRunner.run(server: large, registry: proxyHost)
        print("kate sweep --action=report (\(largePods) pods, \(largeTags) tags): \(kateLarge.summary)")
        print(String(format: "targets: wall < 5 s: %@; VmHWM < 100 MiB: %@",
            kateLarge.seconds < 5 ? "met" : "MISSED", kateLarge.peakKiB < 100 * 1024 ? "met" : "MISSED"))
        cli(large, registry: proxyHost, label: "\(largePods) pods, \(largeTags) tags")
        await large.stop()
        await proxy.stop()
        await registry.stop()
    }
}

extension BenchDriver {
    static func cli(_ server: KubeTestServer, registry: String, label: String) {
        guard let binary = KateCLI.binary else {
            print("kate binary (\(label)): not built next to bench-sweep; skipped (scripts/bench-sweep.sh builds it)")
            return
        }
        do {
            let result = try KateCLI.run(binary, server: server, registry: registry)
            print(String(format: "kate sweep --action=report binary (%@): %.2f s wall, max RSS %.1f MiB, exit %d: %@",
                label, result.seconds, Double(result.maxRSSKiB) / 1024, result.exitCode, result.summary))
        } catch {
            print("kate binary (\(label)) failed: \(error)")
        }
    }
}

/// Runs `bench-sweep --child` against a server and parses its line.
enum ChildRunner {
    struct Result {
        var seconds: Double
        var peakKiB: Int
        var processSeconds: Double
        var line: String
        var summary: String {
            String(format: "%.3f s in the sweeper (%.3f s with process start), peak RSS %.1f MiB [%@]",
                seconds, processSeconds, Double(peakKiB) / 1024, line)
        }
    }

    static func run(server: KubeTestServer, registry: String) throws -> Result {
        let caFile = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sweep-ca-\(getpid()).pem")
        try Data(server.caPEM.utf8).write(to: caFile)
        defer { try? FileManager.default.removeItem(at: caFile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["--child"]
        var environment = ProcessInfo.processInfo.environment
        environment["BENCH_KUBE_URL"] = server.url
        environment["BENCH_KUBE_CA"] = server.caPEM
        environment["BENCH_KUBE_TOKEN"] = server.token
        environment["BENCH_REGISTRY"] = registry
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        let started = ContinuousClock.now
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - started
        guard process.terminationStatus == 0 else { throw BenchError("child sweep exited \(process.terminationStatus)") }
        let line = output.trimmingCharacters(in: .whitespacesAndNewlines)
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return Result(
            seconds: (Double(fields["wall_ms"] ?? "") ?? -1) / 1000, peakKiB: Int(fields["vmhwm_kib"] ?? "") ?? -1,
            processSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, line: line)
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
