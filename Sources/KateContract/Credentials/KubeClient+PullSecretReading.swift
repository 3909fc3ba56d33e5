import KateKube
import KateRegistry

/// The real API: a 404 is "does not exist" (nil), anything else that fails is thrown.
extension KubeClient: PullSecretReading {
    public func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? {
        let secret: Secret
        do {
            secret = try await getSecret(namespace: namespace, name: name)
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
        return try DockerConfig.fromSecret(type: secret.type ?? "", data: secret.data ?? [:])
    }

    public func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
        do {
            return try await getServiceAccount(namespace: namespace, name: name).imagePullSecrets?.map(\.name) ?? []
        } catch let error as KubeError where error.isNotFound {
            return nil
        }
    }
}
