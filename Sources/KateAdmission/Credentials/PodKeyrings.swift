import KateContract
import KateKube
import KateRegistry
import Logging

/// Builds the keyring for a pod. Implementations never throw: a source that cannot be read is
/// skipped and recorded in `problems`, because a public image must still resolve when a pull
/// secret is missing.
public protocol PodKeyringProviding: Sendable {
    func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring
}

/// The pod's pull secrets through the API: KateContract's keychain, the one the sweeper uses too.
extension PullSecretKeychain: PodKeyringProviding {}

/// Only the docker config mounted into the webhook (`--pull-secrets off`, or no cluster access).
public struct StaticKeyringProvider: PodKeyringProviding {
    public let node: Keyring
    public let label: String

    public init(node: Keyring, label: String = "docker config") {
        self.node = node
        self.label = label
    }

    public func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring {
        PodKeyring(keyring: node, checked: [label])
    }
}
