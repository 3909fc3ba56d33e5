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
    /// Operator kinds (`--pin-operator-owned`) whose pods are pinned although their controller is not built in.
    public var pinOperatorOwnedKinds: [OwnerKindPattern]

    public init(skipNamespaces: Set<String> = ["kube-system"], includeImages: [GlobPattern] = [], excludeImages: [GlobPattern] = [],
                excludeRegistries: Set<String> = [], pinOperatorOwnedKinds: [OwnerKindPattern] = []) {
        self.skipNamespaces = skipNamespaces
        self.includeImages = includeImages
        self.excludeImages = excludeImages
        self.excludeRegistries = Set(excludeRegistries.map { Self.normalizeRegistry($0) })
        self.pinOperatorOwnedKinds = pinOperatorOwnedKinds
    }

    /// The annotation the kubelet puts on the API copy (mirror) of a static pod. The apiserver refuses any change to a
    /// mirror pod's spec, and the kubelet runs the static manifest whatever the mirror says: never patched.
    public static let mirrorAnnotation = "kubernetes.io/config.mirror"
    /// kate's own pods carry this label (the chart's `kate.labels` and the kustomize base's `commonLabels` set it on
    /// every kate pod). With the own-namespace skip it keeps kate from gating its own start: a webhook pod that waited
    /// for the webhook to pin it could never start once every replica was gone.
    public static let selfLabel = (key: "app.kubernetes.io/part-of", value: "kate")

    /// Why the whole pod is skipped, or nil.
    public func podSkipReason(namespace: String?, pod: Pod) -> String? {
        if let namespace, skipNamespaces.contains(namespace) { return "namespace \(namespace) is skipped" }
        if pod.metadata.annotations?[Self.mirrorAnnotation] != nil { return "mirror (static) pod: the kubelet owns it" }
        if pod.metadata.labels?[Self.selfLabel.key] == Self.selfLabel.value { return "kate's own pod (label \(Self.selfLabel.key)=kate)" }
        return OptOut.podReason(annotations: pod.metadata.annotations, labels: pod.metadata.labels)
    }

    /// The operator that manages `pod` when kate leaves its pods alone by default: a controller that is not a built-in
    /// kind and not opted in with `--pin-operator-owned`. nil: pinned as usual (the namespace label may still opt in).
    public func unpinnedOperator(of pod: Pod) -> OperatorOwnership.Owner? {
        guard let owner = Self.operatorOwner(of: pod), !pinOperatorOwnedKinds.contains(where: { $0.matches(owner) }) else { return nil }
        return owner
    }

    /// The shared rule (`OperatorOwnership`) over a pod's owner references.
    public static func operatorOwner(of pod: Pod) -> OperatorOwnership.Owner? {
        guard let references = pod.metadata.ownerReferences, !references.isEmpty else { return nil }
        return OperatorOwnership.operatorOwner(references.map {
            OperatorOwnership.Owner(apiVersion: $0.apiVersion, kind: $0.kind, name: $0.name, controller: $0.controller == true)
        })
    }

    /// Why one image is left alone by policy, or nil.
    public func imageSkipReason(_ reference: ImageReference) -> String? {
        if Self.isBareImageID(reference.original) { return "a bare image ID names no repository or tag to resolve" }
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

    /// `sha256:<64 hex>` alone, as a runtime's image ID: the reference grammar reads it as the tag of a Docker Hub
    /// repository named `sha256`, which no one means; the kubelet runs the local image with that ID.
    static func isBareImageID(_ image: String) -> Bool {
        let bytes = image.utf8
        guard bytes.count == 71, image.hasPrefix("sha256:") else { return false }
        return bytes.dropFirst(7).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
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
