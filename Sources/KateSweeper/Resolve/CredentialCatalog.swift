import KateRegistry
import Logging

/// Which credentials a pod's images resolve with: its pull secrets, then its ServiceAccount's, then
/// the mounted docker config. Pods with the same secret list share one scope, so an image used in
/// fifty namespaces without secrets resolves once.
public struct CredentialScope: Sendable, Hashable, CustomStringConvertible {
    /// Namespaced secret names (`team-a/regcred`), in lookup order; empty = mounted config only.
    public let secrets: [String]

    public init(secrets: [String]) { self.secrets = secrets }

    public var description: String { secrets.isEmpty ? "mounted docker config" : secrets.joined(separator: ", ") }
}

/// Pull secrets read once per sweep: one GET per (namespace, ServiceAccount), one per secret.
public struct CredentialCatalog: Sendable {
    private var serviceAccountSecrets: [String: [String]] = [:]
    private var configs: [String: DockerConfig] = [:]
    /// Secrets asked for already (found or not).
    private var readSecrets: Set<String> = []
    public let mounted: Keyring

    public init(mounted: Keyring = .empty) {
        self.mounted = mounted
    }

    public static func load(
        for pods: [PodIdentity], from cluster: any ClusterReading, mounted: Keyring, concurrency: Int, logger: Logger
    ) async -> CredentialCatalog {
        var catalog = CredentialCatalog(mounted: mounted)
        await catalog.add(pods, from: cluster, concurrency: concurrency, logger: logger)
        return catalog
    }

    /// Reads the ServiceAccounts and secrets of `pods` not read yet (a sweep adds page by page).
    public mutating func add(_ pods: [PodIdentity], from cluster: any ClusterReading, concurrency: Int, logger: Logger) async {
        let accounts = Set(pods.map { "\($0.namespace)/\($0.serviceAccount)" }).filter { serviceAccountSecrets[$0] == nil }.sorted()
        let fetched = await BoundedParallel.map(accounts, concurrency: concurrency) { key -> (String, [String]) in
            let (namespace, name) = Self.split(key)
            do {
                let names = try await cluster.serviceAccountPullSecrets(namespace: namespace, name: name)
                return (key, names)
            } catch {
                logger.warning("cannot read ServiceAccount \(key); resolving without its pull secrets: \(error)")
                return (key, [])
            }
        }
        for (key, names) in fetched { serviceAccountSecrets[key] = names }

        let secretKeys = Set(pods.flatMap { scope(for: $0).secrets }).subtracting(readSecrets).sorted()
        readSecrets.formUnion(secretKeys)
        let secrets = await BoundedParallel.map(secretKeys, concurrency: concurrency) { key -> (String, DockerConfig?) in
            let (namespace, name) = Self.split(key)
            do {
                guard let secret = try await cluster.pullSecret(namespace: namespace, name: name) else {
                    logger.warning("imagePullSecret \(key) does not exist; skipped")
                    return (key, nil)
                }
                let config = try DockerConfig.fromSecret(type: secret.type, data: secret.data)
                return (key, config)
            } catch {
                logger.warning("cannot use imagePullSecret \(key): \(error)")
                return (key, nil)
            }
        }
        for (key, config) in secrets { if let config { configs[key] = config } }
    }

    /// The pod's secrets (pod first, then ServiceAccount), deduplicated, namespaced.
    public func scope(for pod: PodIdentity) -> CredentialScope {
        var seen = Set<String>()
        let names = pod.pullSecrets + (serviceAccountSecrets["\(pod.namespace)/\(pod.serviceAccount)"] ?? [])
        // An empty name (`imagePullSecrets: [{}]`, which the apiserver accepts) names no secret;
        // asking for it would GET `…/secrets/`, the namespace's secret list.
        let keys = names.filter { !$0.isEmpty }.map { "\(pod.namespace)/\($0)" }.filter { seen.insert($0).inserted }
        return CredentialScope(secrets: keys)
    }

    /// The keyring for a scope: secrets that could be read, then the mounted config.
    public func keyring(for scope: CredentialScope) -> Keyring {
        let sources = scope.secrets.compactMap { key in configs[key].map { (label: "imagePullSecret \(key)", config: $0) } }
        return Keyring(sources: sources).appending(mounted)
    }

    private static func split(_ key: String) -> (String, String) {
        guard let slash = key.firstIndex(of: "/") else { return ("", key) }
        return (String(key[..<slash]), String(key[key.index(after: slash)...]))
    }
}
