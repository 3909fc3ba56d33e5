import KateKube

/// Everything about a pod that decides its pull credentials: its namespace, its ServiceAccount and
/// its own `imagePullSecrets`. Pods with equal subjects get the same keyring, so the webhook and the
/// sweeper key their work by it.
public struct PullSecretSubject: Sendable, Hashable {
    public let namespace: String
    /// `default` when the pod names none (or names `""`), as the API server fills it in.
    public let serviceAccount: String
    /// The pod's `imagePullSecrets` names in order, without empty ones: `imagePullSecrets: [{}]` is
    /// valid API input, and asking for the secret `""` would GET the namespace's secret list.
    public let pullSecrets: [String]

    public init(namespace: String, serviceAccount: String?, pullSecrets: [String]) {
        self.namespace = namespace
        self.serviceAccount = serviceAccount.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        self.pullSecrets = pullSecrets.contains(where: \.isEmpty) ? pullSecrets.filter { !$0.isEmpty } : pullSecrets
    }

    /// `namespace` is the review's or the pod's: a pod being created may not carry one yet.
    public init(pod: Pod, namespace: String) {
        self.init(namespace: namespace, serviceAccount: pod.spec.serviceAccountName, pullSecrets: pod.spec.imagePullSecrets?.map(\.name) ?? [])
    }
}
