import Foundation
import KateKube
import KateRegistry
import KateSweeper
import KubeTestServer
import Logging

/// The Kubernetes test API server and a faulty registry, with the real `KubeClient`, `Resolver`
/// and `Sweeper` between them: `kate sweep` minus argument parsing.
struct SweepRig {
    let kube: KubeTestServer
    let registry: FaultyRegistry
    let client: KubeClient
    let resolver: Resolver
    let logs = LogRecorder()

    /// A digest the registry never serves: what the pods were started with, before the tag moved.
    static let oldDigest = "sha256:" + String(repeating: "0d", count: 32)

    static func start(allowConnectionDrops: Bool = false) async throws -> SweepRig {
        let kube = try await KubeTestServer.start(allowConnectionDrops: allowConnectionDrops, logger: Reliability.quietLogger)
        let registry: FaultyRegistry
        do {
            registry = try await FaultyRegistry.start()
        } catch {
            await kube.stop()
            throw error
        }
        let logs = LogRecorder()
        let client = KubeClient(configuration: kube.clientConfiguration, fieldManager: "kate-sweeper", logger: logs.logger("kate.kube"))
        var configuration = ResolverConfiguration(
            negativeCacheTTL: .milliseconds(1), connectTimeout: .seconds(1), maxRetries: 2, retryBaseDelay: .milliseconds(10))
        configuration.registries[registry.host] = RegistrySettings(plainHTTP: true)
        let resolver = Resolver(configuration: configuration, logger: logs.logger("kate.registry"))
        return SweepRig(kube: kube, registry: registry, client: client, resolver: resolver)
    }

    func stop() async {
        await client.shutdown()
        await resolver.shutdown()
        await registry.stop()
        await kube.stop()
    }

    /// A Deployment `shop/web` whose pods run `oldDigest` of a tag that the registry now
    /// resolves to `FaultyRegistry.digest`: stale, so a healthy sweep restarts it.
    @discardableResult
    func addStaleDeployment(replicas: Int = 2) throws -> DeploymentObjects {
        let image = "\(registry.host)/shop/web:2.4.1"
        return try kube.addDeployment(
            namespace: "shop", name: "web", image: image, replicas: replicas, imageID: "\(registry.host)/shop/web@\(Self.oldDigest)")
    }

    /// - Parameter resolver: the real `Resolver` against `registry` unless a test isolates the
    ///   Kubernetes side with `RegistryAnswer`.
    func sweep(resolveTimeout: Duration = .seconds(10), resolver: (any TagResolving)? = nil) async throws -> SweepReport {
        let sweeper = Sweeper(
            cluster: client, resolver: resolver ?? self.resolver,
            configuration: SweeperConfiguration(resolveTimeout: resolveTimeout), logger: logs.logger("kate.sweep"))
        return try await sweeper.run()
    }

    /// Every call that changes the cluster, events excluded.
    var writes: [String] {
        kube.recordedCalls.filter { !["GET", "HEAD"].contains($0.method) && !$0.path.contains("/events") }.map { "\($0.method) \($0.path)" }
    }
}

/// A registry that always answers: every tag is at `FaultyRegistry.digest`, a single-platform
/// manifest. For the Kubernetes fault tests, so that what they observe is the API client alone.
struct RegistryAnswer: TagResolving {
    func currentDigest(of reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> String {
        FaultyRegistry.digest
    }

    func platformDigests(of reference: ImageReference, indexDigest: String, keyring: Keyring, deadline: ContinuousClock.Instant) async throws -> Set<String> {
        []
    }
}
