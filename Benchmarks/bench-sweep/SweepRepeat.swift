import Foundation

/// `bench-sweep --repeat N`: N consecutive `kate sweep --action report` and N `kate sweep --dry-run`
/// runs of the release binary over the 70-pod fleet (every owner kind, stale pods, private registry
/// with per-namespace pull secrets, no added delay). Fails on any crash, exit code other than 2
/// (stale pods found), or a pod missing from the JSON report. scripts/sweep-repeat.sh runs it.
enum SweepRepeat {
    static func main(count: Int) async throws {
        guard let binary = KateCLI.binary else {
            throw BenchError("no kate binary next to bench-sweep (or in KATE_BINARY): run `swift build -c release` first")
        }
        let environment = try await BenchEnvironment.start(tags: 20, delay: .zero)
        var failures: [String] = []
        do {
            let fleet = environment.fleet(pods: 70, tags: 20, namespaces: 12)
            let (server, kubeconfig) = try await environment.cluster(fleet)
            print("\(binary): \(count) x report + \(count) x dry-run over 70 pods / 20 tags / 12 namespaces (\(fleet.kindSummary); \(fleet.stalePods) stale)")
            var slowest = 0.0
            for round in 1...count {
                for mode in [["--action", "report"], ["--dry-run"]] {
                    let result = try KateCLI.sweep(binary, kubeconfig: kubeconfig, registryConfig: environment.registryConfig, extra: mode + ["--output", "json"])
                    slowest = max(slowest, result.seconds)
                    let missing = ReportCheck.missingPods(json: result.stdout, expected: fleet.pods)
                    if let signal = result.signal {
                        failures.append("run \(round) \(mode.joined(separator: " ")): killed by signal \(signal): \(result.stderr.suffix(1500))")
                    } else if result.exitCode != 2 {
                        failures.append("run \(round) \(mode.joined(separator: " ")): exit \(result.exitCode) (expected 2): \(result.stderr.suffix(1500))")
                    } else if !missing.isEmpty {
                        failures.append("run \(round) \(mode.joined(separator: " ")): \(missing.count) pods missing from the report, e.g. \(missing.prefix(3))")
                    }
                }
            }
            await server.stop()
            print(String(format: "%d of %d sweeps passed (slowest %.2f s)", 2 * count - failures.count, 2 * count, slowest))
        } catch {
            await environment.stop()
            throw error
        }
        await environment.stop()
        guard failures.isEmpty else {
            for failure in failures.prefix(10) { print("FAILED \(failure)") }
            throw BenchError("\(failures.count) of \(2 * count) sweeps failed")
        }
    }
}
