import KateKube
import KateRegistry
import Logging

/// Reads pull secrets and ServiceAccounts from the API. `KubeClient` conforms (see
/// KubeClient+PullSecretReading.swift); tests may substitute their own.
public protocol PullSecretReading: Sendable {
    /// The docker config held by secret `name`, or nil if the secret does not exist.
    func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig?
    /// The ServiceAccount's `imagePullSecrets` names, or nil if the ServiceAccount does not exist.
    func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]?
}

/// Pod `imagePullSecrets`, then its ServiceAccount's (default `default`), then the node-level
/// docker config — the order kubelet effectively uses. API reads are cached briefly (30 s by
/// default) so a burst of pods from one ReplicaSet costs one read per secret, and a secret is
/// cached as a built `Keyring` (keys parsed, identities hashed), so a cached review's keyring
/// is only the concatenation of ready sources.
public final class PullSecretKeyrings: PodKeyringProviding {
    private enum Lookup<T: Sendable>: Sendable {
        case found(T)
        case missing
        case failed(String)
    }

    private let reader: any PullSecretReading
    private let node: Keyring
    private let nodeLabel: String
    /// By source label ("imagePullSecret ns/name"): the label is part of every credential.
    private let secrets: ExpiringCache<String, Lookup<Keyring>>
    private let serviceAccounts: ExpiringCache<String, Lookup<[String]>>

    public init(reader: any PullSecretReading, node: Keyring, nodeLabel: String = "docker config", cacheTTL: Duration = .seconds(30)) {
        self.reader = reader
        self.node = node
        self.nodeLabel = nodeLabel
        secrets = ExpiringCache(capacity: 4096, timeToLive: cacheTTL)
        serviceAccounts = ExpiringCache(capacity: 4096, timeToLive: cacheTTL)
    }

    /// Reads the API sources before `deadline`; past it, resolution goes ahead with the node
    /// credentials alone (a slow API server must not make kate miss the apiserver's timeout).
    public func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring {
        let fromAPI = await Deadline.run(until: deadline) { await self.apiSources(for: pod, namespace: namespace, logger: logger) }
        guard let fromAPI else {
            logger.debug("pull secrets not read before the deadline", metadata: ["namespace": "\(namespace)"])
            return PodKeyring(
                keyring: node, checked: [nodeLabel],
                problems: ["imagePullSecrets and ServiceAccount \(namespace)/\(Self.serviceAccount(of: pod)) not read in time"])
        }
        return PodKeyring(
            keyring: fromAPI.sources.reversed().reduce(node) { combined, source in source.appending(combined) },
            checked: fromAPI.checked + [nodeLabel], problems: fromAPI.problems)
    }

    private struct APISources: Sendable {
        var sources: [Keyring] = []
        var checked: [String] = []
        var problems: [String] = []
    }

    static func serviceAccount(of pod: Pod) -> String {
        pod.spec.serviceAccountName.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    private func apiSources(for pod: Pod, namespace: String, logger: Logger) async -> APISources {
        var result = APISources()
        var seen = Set<String>()

        func addSecret(_ name: String, via: String) async {
            guard seen.insert(name).inserted else { return }
            let label = "\(via) \(namespace)/\(name)"
            result.checked.append(label)
            switch await secret(namespace: namespace, name: name, label: label) {
            case .found(let keyring):
                result.sources.append(keyring)
                logger.debug("pull secret available", metadata: ["source": "\(label)"])
            case .missing:
                result.problems.append("\(label) not found")
                logger.debug("pull secret missing", metadata: ["source": "\(label)"])
            case .failed(let why):
                result.problems.append("\(label) unreadable: \(why)")
                logger.debug("pull secret unreadable", metadata: ["source": "\(label)", "error": "\(why)"])
            }
        }

        for reference in pod.spec.imagePullSecrets ?? [] where !reference.name.isEmpty {
            await addSecret(reference.name, via: "imagePullSecret")
        }
        let account = Self.serviceAccount(of: pod)
        switch await serviceAccount(namespace: namespace, name: account) {
        case .found(let names):
            result.checked.append("ServiceAccount \(namespace)/\(account)")
            for name in names { await addSecret(name, via: "ServiceAccount \(account) imagePullSecret") }
        case .missing:
            result.problems.append("ServiceAccount \(namespace)/\(account) not found")
        case .failed(let why):
            result.problems.append("ServiceAccount \(namespace)/\(account) unreadable: \(why)")
        }
        return result
    }

    private func secret(namespace: String, name: String, label: String) async -> Lookup<Keyring> {
        if let cached = secrets.value(for: label) { return cached }
        let result: Lookup<Keyring>
        do {
            result = try await reader.pullSecretConfig(namespace: namespace, name: name).map { .found(Keyring(sources: [(label: label, config: $0)])) } ?? .missing
        } catch {
            // Not cached: an API hiccup should not hide a secret for the whole TTL.
            return .failed("\(error)")
        }
        secrets.set(result, for: label)
        return result
    }

    private func serviceAccount(namespace: String, name: String) async -> Lookup<[String]> {
        let key = namespace + "/" + name
        if let cached = serviceAccounts.value(for: key) { return cached }
        let result: Lookup<[String]>
        do {
            result = try await reader.serviceAccountPullSecrets(namespace: namespace, name: name).map { .found($0) } ?? .missing
        } catch {
            return .failed("\(error)")
        }
        serviceAccounts.set(result, for: key)
        return result
    }
}
