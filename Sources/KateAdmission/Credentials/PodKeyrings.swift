import KateKube
import KateRegistry
import Logging

/// The credentials one pod's images are resolved with, plus what was checked (for the error a
/// user sees when the registry still answers 401).
public struct PodKeyring: Sendable {
    public var keyring: Keyring
    /// Labels of the sources in order: "imagePullSecret team-a/regcred", "docker config".
    public var checked: [String]
    /// Sources that were named but unusable: "imagePullSecret team-a/regcred not found".
    public var problems: [String]

    public init(keyring: Keyring, checked: [String] = [], problems: [String] = []) {
        self.keyring = keyring
        self.checked = checked
        self.problems = problems
    }

    /// "checked imagePullSecret a/b, ServiceAccount a/default, docker config; imagePullSecret a/x not found"
    public var summary: String {
        var text = checked.isEmpty ? "no credentials configured" : "checked " + checked.joined(separator: ", ")
        if !problems.isEmpty { text += "; " + problems.joined(separator: "; ") }
        return text
    }
}

/// Builds the keyring for a pod. Implementations never throw: a source that cannot be read is
/// skipped and recorded in `problems`, because a public image must still resolve when a pull
/// secret is missing.
public protocol PodKeyringProviding: Sendable {
    func keyring(for pod: Pod, namespace: String, deadline: ContinuousClock.Instant, logger: Logger) async -> PodKeyring
}

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
