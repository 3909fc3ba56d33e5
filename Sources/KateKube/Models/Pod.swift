import Foundation

/// The parts of a `v1.Pod` that admission and the sweeper read. Array order is preserved, which
/// JSON Patch paths (`/spec/containers/2/image`) depend on.
public struct Pod: Codable, Sendable, Equatable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(apiVersion: String? = "v1", kind: String? = "Pod", metadata: ObjectMeta, spec: PodSpec, status: PodStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PodSpec: Codable, Sendable, Equatable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var ephemeralContainers: [Container]?
    public var imagePullSecrets: [LocalObjectReference]?
    public var serviceAccountName: String?
    public var nodeName: String?
    public var restartPolicy: String?
    /// Only each volume's name and, for an image volume (`volumes[].image`, Kubernetes 1.31+),
    /// its image: those are OCI images by tag too, and admission pins them like containers.
    public var volumes: [Volume]?
    /// Where the pod may run (the platform-coverage gate reads `kubernetes.io/os|arch` in them).
    public var nodeSelector: [String: String]?
    public var affinity: Affinity?

    public init(
        containers: [Container], initContainers: [Container]? = nil, ephemeralContainers: [Container]? = nil,
        imagePullSecrets: [LocalObjectReference]? = nil, serviceAccountName: String? = nil, nodeName: String? = nil,
        restartPolicy: String? = nil, volumes: [Volume]? = nil, nodeSelector: [String: String]? = nil, affinity: Affinity? = nil
    ) {
        self.nodeSelector = nodeSelector
        self.affinity = affinity
        self.containers = containers
        self.initContainers = initContainers
        self.ephemeralContainers = ephemeralContainers
        self.imagePullSecrets = imagePullSecrets
        self.serviceAccountName = serviceAccountName
        self.nodeName = nodeName
        self.restartPolicy = restartPolicy
        self.volumes = volumes
    }
}

/// A pod volume, as far as kate reads it: its name and whether it is an image volume.
public struct Volume: Codable, Sendable, Equatable {
    public var name: String
    public var image: ImageVolumeSource?

    public init(name: String, image: ImageVolumeSource? = nil) {
        self.name = name
        self.image = image
    }
}

/// `volumes[].image`: an OCI image (or artifact) mounted read-only into the pod.
public struct ImageVolumeSource: Codable, Sendable, Equatable {
    public var reference: String?
    public var pullPolicy: String?

    public init(reference: String?, pullPolicy: String? = nil) {
        self.reference = reference
        self.pullPolicy = pullPolicy
    }
}

/// A container of any of the three kinds (app, init, ephemeral): they share these fields.
public struct Container: Codable, Sendable, Equatable {
    public var name: String
    /// Optional in the API (a Pod template may leave it to a later admission step); required on a created Pod.
    public var image: String?
    public var imagePullPolicy: String?
    /// `Always` on an init container makes it a sidecar (KEP-753).
    public var restartPolicy: String?

    public init(name: String, image: String?, imagePullPolicy: String? = nil, restartPolicy: String? = nil) {
        self.name = name
        self.image = image
        self.imagePullPolicy = imagePullPolicy
        self.restartPolicy = restartPolicy
    }

    public var isSidecar: Bool { restartPolicy == "Always" }
}

public struct LocalObjectReference: Codable, Sendable, Equatable, Hashable {
    /// `omitempty` in the API: `imagePullSecrets: [{}]` is accepted by the apiserver (with a
    /// warning), so an absent name reads as "" rather than failing the whole pod list's decode.
    public var name: String
    public init(name: String) { self.name = name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
    }
}

public struct PodStatus: Codable, Sendable, Equatable {
    public var phase: String?
    public var containerStatuses: [ContainerStatus]?
    public var initContainerStatuses: [ContainerStatus]?
    public var ephemeralContainerStatuses: [ContainerStatus]?
    /// `Ready`, `ContainersReady`, `PodScheduled`, …: the sweeper's paced evictions wait for `Ready`.
    public var conditions: [PodCondition]?

    public init(
        phase: String? = nil, containerStatuses: [ContainerStatus]? = nil, initContainerStatuses: [ContainerStatus]? = nil,
        ephemeralContainerStatuses: [ContainerStatus]? = nil, conditions: [PodCondition]? = nil
    ) {
        self.phase = phase
        self.containerStatuses = containerStatuses
        self.initContainerStatuses = initContainerStatuses
        self.ephemeralContainerStatuses = ephemeralContainerStatuses
        self.conditions = conditions
    }
}

/// `status.conditions[]` of a Pod: `type` (`Ready`, …) and `status` (`True`, `False`, `Unknown`).
public struct PodCondition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String

    public init(type: String, status: String) {
        self.type = type
        self.status = status
    }

    /// Lenient: a condition missing a field must not make the whole Pod undecodable.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        type = try container.decodeIfPresent(String.self, forKey: .type) ?? ""
        status = try container.decodeIfPresent(String.self, forKey: .status) ?? ""
    }
}

extension Pod {
    /// What `kubectl get` shows as READY n/n: the `Ready` condition is True, and the pod is not being
    /// deleted. A pod without conditions (an old kubelet, a hand-written fixture) counts as ready when
    /// it runs and every container status says ready.
    public var isReady: Bool {
        guard metadata.deletionTimestamp == nil, let status else { return false }
        if let ready = status.conditions?.first(where: { $0.type == "Ready" }) { return ready.status == "True" }
        guard status.phase == "Running", let containers = status.containerStatuses, !containers.isEmpty else { return false }
        return containers.allSatisfy { $0.ready == true }
    }
}

public struct ContainerStatus: Codable, Sendable, Equatable {
    public var name: String
    /// The runtime's view of the image; may name a different tag than the spec (kubernetes#51017).
    public var image: String?
    /// What the node runs: `docker.io/library/nginx@sha256:…` (containerd, CRI-O),
    /// `docker-pullable://nginx@sha256:…` (dockershim), or a bare config ID `sha256:…`.
    public var imageID: String?
    public var ready: Bool?
    public var started: Bool?
    public var restartCount: Int?
    public var state: ContainerState?

    public init(name: String, image: String? = nil, imageID: String? = nil, ready: Bool? = nil, started: Bool? = nil, restartCount: Int? = nil, state: ContainerState? = nil) {
        self.name = name
        self.image = image
        self.imageID = imageID
        self.ready = ready
        self.started = started
        self.restartCount = restartCount
        self.state = state
    }
}

public struct ContainerState: Codable, Sendable, Equatable {
    public struct Running: Codable, Sendable, Equatable { public var startedAt: String? }
    public struct Waiting: Codable, Sendable, Equatable { public var reason: String? }
    public struct Terminated: Codable, Sendable, Equatable { public var exitCode: Int?; public var reason: String? }
    public var running: Running?
    public var waiting: Waiting?
    public var terminated: Terminated?

    public init(running: Running? = nil, waiting: Waiting? = nil, terminated: Terminated? = nil) {
        self.running = running
        self.waiting = waiting
        self.terminated = terminated
    }
}
