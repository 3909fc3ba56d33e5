/// Which pods a sweep looks at (`--namespace`, `--selector`, `--exclude-namespace`).
public struct CollectionScope: Sendable, Equatable {
    /// nil = all namespaces.
    public var namespace: String?
    public var labelSelector: String?
    public var excludedNamespaces: Set<String>

    public init(namespace: String? = nil, labelSelector: String? = nil, excludedNamespaces: Set<String> = ["kube-system"]) {
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.excludedNamespaces = excludedNamespaces
    }
}

/// A pod the sweep did not look at, and why (reported at debug level and counted).
public struct SkippedPod: Sendable, Equatable {
    public var pod: PodKey
    public var reason: String
}
