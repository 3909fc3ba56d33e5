import KateKube
import KateRegistry

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

extension NamespaceLabelOptOut {
    /// Reads namespace labels through the API (needs `get` on namespaces).
    public convenience init(client: KubeClient, cacheTTL: Duration = .seconds(60)) {
        self.init(cacheTTL: cacheTTL, isPermanent: { ($0 as? KubeError)?.isForbidden == true }) { name in
            try await client.getNamespace(name: name).metadata.labels
        }
    }
}
