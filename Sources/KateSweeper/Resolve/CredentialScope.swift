import KateContract

/// Which credentials a pod's images resolve with, as part of a registry question's key: the pull
/// secrets KateContract's keychain found for the pod (`PodKeyring.pullSecrets`), in order, then the
/// mounted docker config. Pods with the same list share one scope, so an image used in fifty
/// namespaces without secrets resolves once.
public struct CredentialScope: Sendable, Hashable, CustomStringConvertible {
    /// Labels of the pull secrets in lookup order (`imagePullSecret team-a/regcred`); empty = mounted config only.
    public let secrets: [String]

    public init(secrets: [String]) { self.secrets = secrets }

    public var description: String { secrets.isEmpty ? "mounted docker config" : secrets.joined(separator: ", ") }
}

extension PullSecretSubject {
    /// The subject of a pod the collector saw (the same normalisation as the webhook's).
    init(_ pod: PodIdentity) {
        self.init(namespace: pod.namespace, serviceAccount: pod.serviceAccount, pullSecrets: pod.pullSecrets)
    }
}
