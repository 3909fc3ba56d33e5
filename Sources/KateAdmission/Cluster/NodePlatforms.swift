import KateKube
import KateNet
import KateRegistry
import Logging
import Synchronization

/// The platforms the cluster's nodes run, for the platform-coverage gate.
public protocol NodePlatformProviding: Sendable {
    /// nil when unknown (no RBAC, API down): the gate then lets the digest through.
    func platforms(deadline: ContinuousClock.Instant, logger: Logger) async -> Set<Platform>?
}

/// Nodes read through the API (RBAC `nodes: list`), cached for `timeToLive`: the gate asks only
/// when a tag moved, and then one list serves every review for a minute. A failed list is
/// remembered for `failureTTL`, so an API outage or a missing RBAC rule costs one request per
/// `failureTTL`, not one per review.
public final class NodePlatforms: NodePlatformProviding {
    public typealias Lister = @Sendable () async throws -> [Node]
    private let list: Lister
    private let timeToLive: Duration
    private let failureTTL: Duration
    private let state = Mutex<(platforms: Set<Platform>?, until: ContinuousClock.Instant)>((nil, .now))

    public init(timeToLive: Duration = .seconds(60), failureTTL: Duration = .seconds(30), list: @escaping Lister) {
        self.list = list
        self.timeToLive = timeToLive
        self.failureTTL = failureTTL
    }

    public convenience init(client: KubeClient, timeToLive: Duration = .seconds(60)) {
        self.init(timeToLive: timeToLive) { try await client.listNodes() }
    }

    public func platforms(deadline: ContinuousClock.Instant, logger: Logger) async -> Set<Platform>? {
        let cached = state.withLock { $0 }
        if ContinuousClock.now < cached.until { return cached.platforms }
        let list = self.list
        let listed: Result<[Node], NodeListFailure>? = await withDeadline(deadline) {
            do {
                let nodes = try await list()
                return .success(nodes)
            } catch {
                return .failure(NodeListFailure(message: "\(error)"))
            }
        }
        switch listed {
        case .success(let nodes):
            let platforms = Set(nodes.compactMap { node in node.osAndArchitecture.map { Platform(os: $0.os, architecture: $0.architecture) } })
            state.withLock { $0 = (platforms, ContinuousClock.now + timeToLive) }
            return platforms
        case .failure(let failure):
            logger.warning("cannot list nodes; the platform-coverage gate lets digests through until it can (grant `nodes: list` or pass --no-platform-gate)", metadata: ["error": "\(failure.message)"])
            state.withLock { $0 = (nil, ContinuousClock.now + failureTTL) }
            return nil
        case .none:
            return cached.platforms
        }
    }

    struct NodeListFailure: Error, Sendable {
        var message: String
    }
}
