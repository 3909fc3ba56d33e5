import Foundation

/// The parts of a `v1.Node` kate reads: where it runs images (the platform-coverage gate).
public struct Node: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var status: NodeStatus?

    public init(metadata: ObjectMeta, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.status = status
    }

    public struct NodeStatus: Codable, Sendable, Equatable {
        public var nodeInfo: NodeSystemInfo?
        public init(nodeInfo: NodeSystemInfo? = nil) { self.nodeInfo = nodeInfo }
    }

    public struct NodeSystemInfo: Codable, Sendable, Equatable {
        public var operatingSystem: String?
        public var architecture: String?
        public init(operatingSystem: String? = nil, architecture: String? = nil) {
            self.operatingSystem = operatingSystem
            self.architecture = architecture
        }
    }

    public static let osLabel = "kubernetes.io/os"
    public static let archLabel = "kubernetes.io/arch"

    /// (os, architecture) as the scheduler matches it: the well-known labels the kubelet sets,
    /// else `status.nodeInfo`. nil when neither says.
    public var osAndArchitecture: (os: String, architecture: String)? {
        let labels = metadata.labels ?? [:]
        guard let os = labels[Self.osLabel] ?? status?.nodeInfo?.operatingSystem,
            let architecture = labels[Self.archLabel] ?? status?.nodeInfo?.architecture, !os.isEmpty, !architecture.isEmpty
        else { return nil }
        return (os, architecture)
    }
}

extension KubeClient {
    /// Every node (cluster-scoped; RBAC `nodes: list`).
    public func listNodes(pageSize: Int = 500) async throws -> [Node] {
        try await list(Node.self, ResourcePath(prefix: "/api/v1", resource: "nodes"), namespace: nil, labelSelector: nil, fieldSelector: nil, pageSize: pageSize)
    }
}
