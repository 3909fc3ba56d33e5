import KateKube
import KateRegistry

/// The platforms the cluster's nodes run, for the platform-coverage gate. `KubeClient` conforms
/// (RBAC `nodes: list`); a cluster that does not (test doubles) leaves the gate off.
public protocol NodePlatformReading: Sendable {
    func nodePlatforms() async throws -> Set<Platform>
}

extension KubeClient: NodePlatformReading {
    public func nodePlatforms() async throws -> Set<Platform> {
        let nodes = try await listNodes()
        return Set(nodes.compactMap { node in node.osAndArchitecture.map { Platform(os: $0.os, architecture: $0.architecture) } })
    }
}
