import KateKube

extension NamespaceLabelOptOut {
    /// Reads namespace labels through the API (needs `get` on namespaces).
    public convenience init(client: KubeClient, cacheTTL: Duration = .seconds(60)) {
        self.init(cacheTTL: cacheTTL, isPermanent: { ($0 as? KubeError)?.isForbidden == true }) { name in
            try await client.getNamespace(name: name).metadata.labels
        }
    }
}
