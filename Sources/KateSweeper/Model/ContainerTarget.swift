import KateKube

/// The tag a container should track, in the spelling the user wrote and in canonical form
/// (so `nginx:1.27` and `docker.io/library/nginx:1.27` resolve once).
public struct TrackedImage: Sendable, Hashable {
    /// The user's spelling without any digest: `nginx:1.27`.
    public let display: String
    /// `docker.io/library/nginx`
    public let canonicalName: String
    public let tag: String

    public init(display: String, canonicalName: String, tag: String) {
        self.display = display
        self.canonicalName = canonicalName
        self.tag = tag
    }

    public var canonicalTag: String { "\(canonicalName):\(tag)" }
}

/// Either the tag to track or why there is none (digest-only image, unparseable reference).
public enum Tracking: Sendable, Hashable {
    case tag(TrackedImage)
    case untrackable(reason: String)

    public var image: TrackedImage? {
        if case .tag(let image) = self { return image }
        return nil
    }
}

public enum ContainerRole: String, Sendable, Codable {
    case app
    /// An init container with `restartPolicy: Always` (KEP-753): runs for the pod's lifetime.
    case sidecar
}

/// The pod facts planning needs, shared by all of its containers.
public struct PodIdentity: Sendable, Hashable {
    public let namespace: String
    public let name: String
    public let uid: String
    public let nodeName: String?
    /// The controller owner reference (`controller: true`), nil for a bare pod.
    public let controller: OwnerReference?
    /// `pod-template-hash` (ReplicaSet) or `controller-revision-hash` (StatefulSet, DaemonSet).
    public let revision: String?
    public let serviceAccount: String
    public let pullSecrets: [String]
    /// The os/arch the pod's nodeSelector or required node affinity picks (platform-coverage gate); nil: any.
    public let platformSelection: PlatformSelection?

    public init(
        namespace: String, name: String, uid: String, nodeName: String? = nil, controller: OwnerReference? = nil,
        revision: String? = nil, serviceAccount: String = "default", pullSecrets: [String] = [], platformSelection: PlatformSelection? = nil
    ) {
        self.platformSelection = platformSelection
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.nodeName = nodeName
        self.controller = controller
        self.revision = revision
        self.serviceAccount = serviceAccount
        self.pullSecrets = pullSecrets
    }
}

/// One container of one running pod, with everything the verdict needs except the registry's answer.
public struct ContainerTarget: Sendable, Hashable {
    public let pod: PodIdentity
    public let container: String
    public let role: ContainerRole
    public let tracking: Tracking
    /// The digest the spec pins (`repo:tag@sha256:…`), if any.
    public let pinnedDigest: String?
    public let running: RunningImage
    /// Canonical name of the repository in the imageID (nil when unknown or not parseable).
    public let runningRepository: String?
    public let pullPolicy: String?

    public init(
        pod: PodIdentity, container: String, role: ContainerRole = .app, tracking: Tracking, pinnedDigest: String?,
        running: RunningImage, runningRepository: String? = nil, pullPolicy: String? = nil
    ) {
        self.pod = pod
        self.container = container
        self.role = role
        self.tracking = tracking
        self.pinnedDigest = pinnedDigest
        self.running = running
        self.runningRepository = runningRepository
        self.pullPolicy = pullPolicy
    }

    /// The policy the kubelet applies: the API defaults an absent policy to `Always` for `:latest`, else `IfNotPresent`.
    public var effectivePullPolicy: String {
        if let pullPolicy { return pullPolicy }
        return tracking.image?.tag == "latest" ? "Always" : "IfNotPresent"
    }
}
