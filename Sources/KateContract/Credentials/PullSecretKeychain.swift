import KateKube
import KateNet
import KateRegistry
import Logging

/// The one keychain built from pull secrets, used by the webhook (a keychain for the process) and
/// the sweeper (one per sweep): a pod's `imagePullSecrets`, then its ServiceAccount's (default
/// `default`), then the node-level docker config — the order kubelet effectively uses.
///
/// Cache rule: an answer (a secret's keyring, "does not exist", a ServiceAccount's secret names) is
/// kept for `cacheTTL`; a failed read is never kept, so an API hiccup does not hide a secret for the
/// whole TTL. Concurrent asks for the same object share one read, so a burst of pods from one
/// ReplicaSet (or a sweep page) costs one GET per ServiceAccount and one per secret. A secret is
/// cached as a built `Keyring` (keys parsed, identities hashed), so a cached pod's keyring is only
/// the concatenation of ready sources.
///
/// Never throws: a source that cannot be read is skipped and recorded in `PodKeyring.problems`,
/// because a public image must still resolve when a pull secret is missing.
public final class PullSecretKeychain: Sendable {
    enum Lookup<T: Sendable>: Sendable {
        case found(T)
        case missing
        case failed(String)
    }

    private let reader: any PullSecretReading
    public let node: Keyring
    public let nodeLabel: String
    /// By source label ("imagePullSecret ns/name"): the label is part of every credential.
    private let secrets: ExpiringCache<String, Lookup<Keyring>>
    private let serviceAccounts: ExpiringCache<String, Lookup<[String]>>
    private let secretReads = SingleFlight<String, Lookup<Keyring>>()
    private let serviceAccountReads = SingleFlight<String, Lookup<[String]>>()

    public init(reader: any PullSecretReading, node: Keyring, nodeLabel: String = "docker config", cacheTTL: Duration = .seconds(30)) {
        self.reader = reader
        self.node = node
        self.nodeLabel = nodeLabel
        secrets = ExpiringCache(capacity: 4096, timeToLive: cacheTTL)
        serviceAccounts = ExpiringCache(capacity: 4096, timeToLive: cacheTTL)
    }

    /// The webhook's form: `namespace` is the review's (a pod being created may carry none).
    public func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring {
        await keyring(for: PullSecretSubject(pod: pod, namespace: namespace), deadline: deadline, logger: logger)
    }

    /// Reads the API sources before `deadline`; past it, resolution goes ahead with the node
    /// credentials alone (a slow API server must not make kate miss the apiserver's timeout).
    public func keyring(for subject: PullSecretSubject, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring {
        let fromAPI = await withDeadline(deadline) { await self.apiSources(for: subject, deadline: deadline, logger: logger) }
        guard let fromAPI else {
            logger.debug("pull secrets not read before the deadline", metadata: ["namespace": "\(subject.namespace)"])
            return PodKeyring(
                keyring: node, checked: [nodeLabel],
                problems: ["imagePullSecrets and ServiceAccount \(subject.namespace)/\(subject.serviceAccount) not read in time"])
        }
        return PodKeyring(
            keyring: fromAPI.sources.reversed().reduce(node) { combined, source in source.appending(combined) },
            checked: fromAPI.checked + [nodeLabel], problems: fromAPI.problems, pullSecrets: fromAPI.labels)
    }

    private struct APISources: Sendable {
        var sources: [Keyring] = []
        var labels: [String] = []
        var checked: [String] = []
        var problems: [String] = []
    }

    private func apiSources(for subject: PullSecretSubject, deadline: ContinuousClock.Instant, logger: Logger) async -> APISources {
        let namespace = subject.namespace
        var result = APISources()
        var seen = Set<String>()

        func addSecret(_ name: String, via: String) async {
            // An empty name names no secret (see `PullSecretSubject.pullSecrets`); a ServiceAccount can list one too.
            guard !name.isEmpty, seen.insert(name).inserted else { return }
            let label = "\(via) \(namespace)/\(name)"
            result.checked.append(label)
            switch await secret(namespace: namespace, name: name, label: label, deadline: deadline) {
            case .found(let keyring):
                result.sources.append(keyring)
                result.labels.append(label)
                logger.debug("pull secret available", metadata: ["source": "\(label)"])
            case .missing:
                result.problems.append("\(label) not found")
                logger.debug("pull secret missing", metadata: ["source": "\(label)"])
            case .failed(let why):
                result.problems.append("\(label) unreadable: \(why)")
                logger.debug("pull secret unreadable", metadata: ["source": "\(label)", "error": "\(why)"])
            }
        }

        for name in subject.pullSecrets { await addSecret(name, via: "imagePullSecret") }
        let account = subject.serviceAccount
        switch await serviceAccount(namespace: namespace, name: account, deadline: deadline) {
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

    private func secret(namespace: String, name: String, label: String, deadline: ContinuousClock.Instant) async -> Lookup<Keyring> {
        await cachedRead(label, in: secrets, sharing: secretReads, deadline: deadline) { [reader] in
            try await reader.pullSecretConfig(namespace: namespace, name: name).map { Keyring(sources: [(label: label, config: $0)]) }
        }
    }

    private func serviceAccount(namespace: String, name: String, deadline: ContinuousClock.Instant) async -> Lookup<[String]> {
        await cachedRead(namespace + "/" + name, in: serviceAccounts, sharing: serviceAccountReads, deadline: deadline) { [reader] in
            try await reader.serviceAccountPullSecrets(namespace: namespace, name: name)
        }
    }

    /// The cache rule, in one place: answers are kept, failures are not; one read per key at a time.
    private func cachedRead<T: Sendable>(
        _ key: String, in cache: ExpiringCache<String, Lookup<T>>, sharing reads: SingleFlight<String, Lookup<T>>,
        deadline: ContinuousClock.Instant, _ read: @escaping @Sendable () async throws -> T?
    ) async -> Lookup<T> {
        if let cached = cache.value(for: key) { return cached }
        do {
            return try await reads.run(key, deadline: deadline) {
                let answer: Lookup<T>
                do {
                    answer = try await read().map { .found($0) } ?? .missing
                } catch {
                    return .failed("\(error)")
                }
                cache.set(answer, for: key)
                return answer
            }
        } catch {
            // This caller stopped waiting (its deadline, its cancellation); the shared read goes on.
            return .failed("\(error)")
        }
    }
}
