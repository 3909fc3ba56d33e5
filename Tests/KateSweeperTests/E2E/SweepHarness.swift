import Foundation
import KateKube
import KateRegistry
import KateSweeper
import KubeTestServer
import Logging
import RegistryTestSupport

/// A real test API server and a real `docker-registry` on loopback, the real `KubeClient` and
/// `Resolver`, and the sweeper between them. `run` stops both servers whatever the body does.
struct SweepHarness {
    let kube: KubeTestServer
    let registry: TestRegistry
    let client: KubeClient
    let resolver: Resolver
    let logger = Logger(label: "kate.sweep.test")

    static func run(registry mode: TestRegistry.Mode = .plainHTTP, _ body: (SweepHarness) async throws -> Void) async throws {
        let kube = try await KubeTestServer.start()
        let registry: TestRegistry
        do {
            registry = try await TestRegistry.start(mode)
        } catch {
            await kube.stop()
            throw error
        }
        let logger = Logger(label: "kate.sweep.test")
        let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate-sweeper", logger: logger)
        var configuration = resolverConfiguration(plainHTTP: [])
        configuration.registries[registry.host] = registry.settings
        let resolver = Resolver(configuration: configuration, logger: logger)
        let harness = SweepHarness(kube: kube, registry: registry, client: client, resolver: resolver)
        do {
            try await body(harness)
        } catch {
            await harness.shutdown()
            throw error
        }
        await harness.shutdown()
    }

    static func resolverConfiguration(plainHTTP hosts: [String]) -> ResolverConfiguration {
        var configuration = ResolverConfiguration(maxRetries: 1, retryBaseDelay: .milliseconds(10))
        for host in hosts { configuration.registries[host] = RegistrySettings(plainHTTP: true) }
        return configuration
    }

    private func shutdown() async {
        await client.shutdown()
        await resolver.shutdown()
        await registry.stop()
        await kube.stop()
    }

    func put(_ objects: [String: Any]...) throws {
        for object in objects { _ = try kube.put(try Fixtures.bytes(object)) }
    }

    /// The sweeper's policy with paced evictions shortened from minutes to what a test can wait.
    static func policy(
        _ action: SweepAction = .rollout, dryRun: Bool = false, maxActions: Int? = nil, evictionWait: Duration = .milliseconds(800)
    ) -> ActionPolicy {
        ActionPolicy(
            action: action, dryRun: dryRun, maxActions: maxActions, evictionWait: evictionWait, evictionPollInterval: .milliseconds(20),
            disruptionRetryInterval: .milliseconds(50))
    }

    func sweep(_ policy: ActionPolicy = SweepHarness.policy(), resolver: (any TagResolving)? = nil, kubeConcurrency: Int = 8) async throws -> SweepReport {
        let sweeper = Sweeper(
            cluster: client, resolver: resolver ?? self.resolver,
            configuration: SweeperConfiguration(policy: policy, kubeConcurrency: kubeConcurrency, resolveTimeout: .seconds(10)), logger: logger)
        return try await sweeper.run()
    }

    /// Every call that is not a read: what the sweeper changed in the cluster.
    var writes: [RecordedCall] {
        kube.recordedCalls.filter { !["GET", "HEAD"].contains($0.method) }
    }

    /// "PATCH /apis/apps/v1/namespaces/default/deployments/web", without events (asserted separately).
    var writeSummary: [String] {
        writes.filter { !$0.path.contains("/events") }.map { "\($0.method) \($0.path)" }
    }

    var events: [RecordedCall] { writes.filter { $0.path.contains("/events") } }

    /// `127.0.0.1:PORT/<repository>:<tag>`
    func image(_ repository: String, _ tag: String) -> String { "\(registry.host)/\(repository):\(tag)" }
}
