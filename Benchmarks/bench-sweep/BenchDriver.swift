import Foundation
import KubeTestServer
import RegistryTestSupport

/// The rows: the shipped `kate` binary (release, default flags) against the old tool's sequential
/// `skopeo inspect` loop on the 70-pod fleet, in the same run, the private registry 50 ms away;
/// then the binary alone at 10,000 pods / 500 tags (and 100,000 / 5,000 with BENCH_HUGE=1).
enum BenchDriver {
    static let environment = ProcessInfo.processInfo.environment
    /// BENCH_DELAY_MS and BENCH_SKIP_SKOPEO=1 are for investigating; the quoted figures use 50 ms and the skopeo row.
    static let delay = Duration.milliseconds(Int(environment["BENCH_DELAY_MS"] ?? "") ?? 50)
    static let skipSkopeo = environment["BENCH_SKIP_SKOPEO"] == "1"
    /// Extra `kate sweep` flags (e.g. `--log-level debug`), for investigating.
    static let extraFlags = (environment["BENCH_KATE_FLAGS"] ?? "").split(separator: " ").map(String.init)
    /// Overridable for a quick smoke run (`BENCH_LARGE_PODS=200 BENCH_LARGE_TAGS=40`); the quoted figures use the defaults.
    static let largePods = Int(environment["BENCH_LARGE_PODS"] ?? "") ?? 10_000
    static let largeTags = Int(environment["BENCH_LARGE_TAGS"] ?? "") ?? 500
    static let huge = environment["BENCH_HUGE"] == "1"
    /// The baseline rows: kate without its safety checks (the default rows run them).
    static let sentinelOff = ["--no-dangling-check", "--no-platform-gate"]

    static func main() async throws {
        guard let binary = KateCLI.binary else {
            throw BenchError("no kate binary next to bench-sweep (or in KATE_BINARY): scripts/bench-sweep.sh builds both in release")
        }
        let tagCount = huge ? 5_000 : max(20, largeTags)
        let environment = try await BenchEnvironment.start(tags: tagCount, delay: delay)
        print("kate binary \(binary); private registry (TLS, Basic auth) \(environment.registry.host) behind DelayProxy \(environment.proxy.host) (+\(delay) per round trip)")
        do {
            let small = environment.fleet(pods: 70, tags: 20, namespaces: 12)
            print("fleet 70 pods / 20 tags / 12 namespaces: \(small.kindSummary); \(small.stalePods) stale; per-namespace dockerconfigjson pull secrets")
            let (server, kubeconfig) = try await environment.cluster(small)
            let old = skipSkopeo ? OldWay.Result(seconds: 0, count: 0, failures: 0)
                : try OldWay.run(images: small.podImages, user: BenchEnvironment.user, password: BenchEnvironment.password)
            print(String(format: "old way (sequential skopeo inspect, one per pod): %.2f s (%d inspections, %d failed)", old.seconds, old.count, old.failures))
            try await measure(binary, environment, kubeconfig: kubeconfig, label: "70 pods, 20 tags", fleet: small, flags: sentinelOff)
            let kate = try await measure(binary, environment, kubeconfig: kubeconfig, label: "70 pods, 20 tags", fleet: small)
            print(String(format: "speed-up vs skopeo: %.0fx (target >= 100x); %.1f RTT of wall time (target <= 6 RTT of registry time)",
                old.seconds / max(kate.seconds, 0.0001), kate.seconds / 0.05))
            await server.stop()

            try await large(binary, environment, pods: largePods, tags: largeTags, namespaces: 20, targets: (2.5, 80))
            if huge { try await large(binary, environment, pods: 100_000, tags: 5_000, namespaces: 50, targets: (20, 200)) }
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
    }

    static func large(_ binary: String, _ environment: BenchEnvironment, pods: Int, tags: Int, namespaces: Int, targets: (seconds: Double, mib: Double)) async throws {
        let fleet = environment.fleet(pods: pods, tags: tags, namespaces: namespaces)
        print("fleet \(pods) pods / \(tags) tags / \(namespaces) namespaces: \(fleet.kindSummary); \(fleet.stalePods) stale")
        let (server, kubeconfig) = try await environment.cluster(fleet)
        // Baseline in the same run: the dangling-pin sentinel and the platform gate off.
        try await measure(binary, environment, kubeconfig: kubeconfig, label: "\(pods) pods, \(tags) tags", fleet: fleet, flags: sentinelOff)
        let result = try await measure(binary, environment, kubeconfig: kubeconfig, label: "\(pods) pods, \(tags) tags", fleet: fleet)
        print(String(format: "targets (%d pods): wall < %.1f s: %@; max RSS < %.0f MiB: %@", pods, targets.seconds,
            result.seconds < targets.seconds ? "met" : "MISSED", targets.mib, Double(result.maxRSSKiB) / 1024 < targets.mib ? "met" : "MISSED"))
        // The same sweep with the streamed JSON report.
        try await measure(binary, environment, kubeconfig: kubeconfig, label: "\(pods) pods, \(tags) tags", fleet: fleet, flags: ["--output", "json"])
        await server.stop()
    }

    /// One `kate sweep --action report`: wall, CPU, peak RSS, registry requests, and whether every pod is in the report.
    @discardableResult
    static func measure(
        _ binary: String, _ environment: BenchEnvironment, kubeconfig: String, label: String, fleet: Fleet, flags: [String] = []
    ) async throws -> KateCLI.Result {
        let before = await environment.registryRequests()
        let connectionsBefore = environment.proxy.connections
        let result = try KateCLI.sweep(binary, kubeconfig: kubeconfig, registryConfig: environment.registryConfig, extra: ["--action", "report"] + flags + extraFlags)
        if !extraFlags.isEmpty { FileHandle.standardError.write(Data(result.stderr.utf8)) }
        let requests = await environment.registryRequests() - before
        let connections = environment.proxy.connections - connectionsBefore
        let listed = result.stdout.hasPrefix("{")
            ? ReportCheck.missingPods(json: result.stdout, expected: fleet.pods) : ReportCheck.missingPods(table: result.stdout, expected: fleet.pods)
        print(String(format: "kate sweep --action report%@ (%@): %.2f s wall, %.2f s CPU, max RSS %.1f MiB, exit %d%@, %d registry requests over %d connections, %@; %@",
            flags.isEmpty ? "" : " " + flags.joined(separator: " "), label, result.seconds, result.cpuSeconds, Double(result.maxRSSKiB) / 1024, result.exitCode, result.signal.map { " (signal \($0))" } ?? "",
            requests, connections, listed.isEmpty ? "all \(fleet.pods.count) pods reported" : "\(listed.count) pods MISSING", result.summary))
        guard result.signal == nil, result.exitCode == 2, listed.isEmpty else {
            throw BenchError("kate sweep failed (\(label)): exit \(result.exitCode), signal \(result.signal.map(String.init) ?? "none"); stderr: \(result.stderr.suffix(2000))")
        }
        return result
    }
}

/// Which expected pods a report does not list.
enum ReportCheck {
    /// From the table (NAMESPACE and POD columns) or the JSON rows.
    static func missingPods(table: String, expected: [String]) -> [String] {
        var seen = Set<String>()
        for line in table.split(separator: "\n") {
            let columns = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
            if columns.count >= 2 { seen.insert("\(columns[0])/\(columns[1])") }
        }
        return expected.filter { !seen.contains($0) }
    }

    static func missingPods(json: String, expected: [String]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], let rows = object["rows"] as? [[String: Any]] else {
            return expected
        }
        let seen = Set(rows.compactMap { row -> String? in
            guard let namespace = row["namespace"] as? String, let pod = row["pod"] as? String else { return nil }
            return "\(namespace)/\(pod)"
        })
        return expected.filter { !seen.contains($0) }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
