import KateRegistry

/// The two Kubernetes reads a pull-secret keychain needs. `KubeClient` conforms
/// (KubeClient+PullSecretReading.swift); the webhook's and the sweeper's tests substitute their own.
///
/// What "missing" means, for every conformer: `nil` is "the object does not exist" (the API's 404),
/// a thrown error is "it could not be read" (API error, RBAC denial, a secret that is not a docker
/// config), and an existing ServiceAccount that lists no pull secrets is `[]`. `PullSecretKeychain`
/// remembers the first and the last for its time to live and never remembers a thrown error.
public protocol PullSecretReading: Sendable {
    /// The docker config held by secret `name`, or nil if the secret does not exist.
    func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig?
    /// The ServiceAccount's `imagePullSecrets` names, or nil if the ServiceAccount does not exist.
    func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]?
}
