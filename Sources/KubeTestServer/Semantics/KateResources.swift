extension ResourceType {
    /// kate's digest ledger (`kate.dev/v1alpha1` ImageTagHistory, namespaced; the CRD is
    /// charts/kate/crds/imagetaghistories.yaml): served as the apiserver serves a custom resource
    /// without subresources — create, get, list, update with resourceVersion preconditions, patch,
    /// delete, watch.
    public static let imageTagHistories = ResourceType(
        group: "kate.dev", version: "v1alpha1", resource: "imagetaghistories", kind: "ImageTagHistory", namespaced: true
    )
}
