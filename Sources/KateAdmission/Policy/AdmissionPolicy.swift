import KateContract
import KateKube
import KateRegistry

/// Which pods and images kate leaves alone.
///
/// The namespace opt-out label (`kate.dev/skip=true`) is enforced by the webhook
/// configuration's `namespaceSelector` (the chart sets it): the apiserver never calls kate for
/// such namespaces, and kate itself cannot see namespace labels without an extra API call per
/// review. Skip namespaces and the pod annotation are enforced here.
public struct AdmissionPolicy: Sendable {
    public var skipNamespaces: Set<String>
    /// When non-empty, only images matching one of these are pinned.
    public var includeImages: [GlobPattern]
    public var excludeImages: [GlobPattern]
    /// Registry hosts (`ghcr.io`, `localhost:5000`); `docker.io` also covers Docker Hub's aliases.
    public var excludeRegistries: Set<String>

    public init(skipNamespaces: Set<String> = ["kube-system"], includeImages: [GlobPattern] = [], excludeImages: [GlobPattern] = [],
                excludeRegistries: Set<String> = []) {
        self.skipNamespaces = skipNamespaces
        self.includeImages = includeImages
        self.excludeImages = excludeImages
        self.excludeRegistries = Set(excludeRegistries.map { Self.normalizeRegistry($0) })
    }

    /// Why the whole pod is skipped, or nil.
    public func podSkipReason(namespace: String?, pod: Pod) -> String? {
        if let namespace, skipNamespaces.contains(namespace) { return "namespace \(namespace) is skipped" }
        return OptOut.podReason(annotations: pod.metadata.annotations, labels: pod.metadata.labels)
    }

    /// Why one image is left alone by policy, or nil.
    public func imageSkipReason(_ reference: ImageReference) -> String? {
        if excludeRegistries.contains(Self.normalizeRegistry(reference.registry)) {
            return "registry \(reference.registry) is excluded"
        }
        let names = Self.matchNames(reference)
        if let pattern = excludeImages.first(where: { p in names.contains { p.matches($0) } }) {
            return "matches --exclude-image \(pattern)"
        }
        if !includeImages.isEmpty, !includeImages.contains(where: { p in names.contains { p.matches($0) } }) {
            return "matches no --include-image pattern"
        }
        return nil
    }

    /// A pattern may be written against the user's spelling (`nginx:*`) or the canonical name
    /// (`docker.io/library/nginx*`); both are tried.
    static func matchNames(_ reference: ImageReference) -> [String] {
        var names = [reference.original, reference.canonicalName]
        if let tag = reference.tag { names.append(reference.canonicalName + ":" + tag) }
        return names
    }

    static func normalizeRegistry(_ host: String) -> String {
        let lower = host.lowercased()
        switch lower {
        case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com": return "docker.io"
        default: return lower
        }
    }
}
