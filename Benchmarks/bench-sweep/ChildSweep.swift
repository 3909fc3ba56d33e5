import Foundation
import KateKube
import KateNet
import KateRegistry
import KateSweeper
import Logging

/// The measured side: one `kate sweep --action=report` equivalent, configured through the environment
/// by the driver. Prints one line the driver parses: `pods=… containers=… tags=… stale=… wall_ms=… vmhwm_kib=…`.
enum ChildSweep {
    static func main() async {
        let env = ProcessInfo.processInfo.environment
        guard let server = env["BENCH_KUBE_URL"], let ca = env["BENCH_KUBE_CA"], let token = env["BENCH_KUBE_TOKEN"],
            let registry = env["BENCH_REGISTRY"]
        else {
            FileHandle.standardError.write(Data("child: BENCH_* environment missing\n".utf8))
            exit(1)
        }
        var logger = Logger(label: "bench-sweep")
        logger.logLevel = .error
        let started = ContinuousClock.now
        let client = KubeClient(
            configuration: KubeClientConfiguration(
                server: server, tls: TLSClientConfiguration(useSystemTrustStore: false, additionalTrustRoots: [.pem(ca)]),
                auth: .token(token), source: "bench"),
            fieldManager: "kate-sweeper", logger: logger)
        var resolverConfiguration = ResolverConfiguration()
        resolverConfiguration.registries[registry] = RegistrySettings(plainHTTP: true)
        let resolver = Resolver(configuration: resolverConfiguration, logger: logger)
        let sweeper = Sweeper(
            cluster: client, resolver: resolver,
            configuration: SweeperConfiguration(scope: CollectionScope(excludedNamespaces: []), policy: ActionPolicy(action: .report)),
            logger: logger)
        do {
            let report = try await sweeper.run()
            let wall = ContinuousClock.now - started
            await client.shutdown()
            await resolver.shutdown()
            let ms = Double(wall.components.seconds) * 1000 + Double(wall.components.attoseconds) / 1e15
            print("pods=\(report.podCount) containers=\(report.findings.count) tags=\(report.resolvedTags) stale=\(report.stalePods) "
                + "errors=\(report.resolveErrors) wall_ms=\(String(format: "%.1f", ms)) vmhwm_kib=\(peakRSSKiB())")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("child: sweep failed: \(error)\n".utf8))
            exit(1)
        }
    }

    /// VmHWM from /proc/self/status: the peak resident set of this process.
    static func peakRSSKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }
        return -1
    }
}
