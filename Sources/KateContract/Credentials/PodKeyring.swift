import KateRegistry

/// The credentials one pod's images are resolved with, plus what was checked (for the error a
/// user sees when the registry still answers 401).
public struct PodKeyring: Sendable {
    public var keyring: Keyring
    /// Labels of the sources in order: "imagePullSecret team-a/regcred", "docker config".
    public var checked: [String]
    /// Sources that were named but unusable: "imagePullSecret team-a/regcred not found".
    public var problems: [String]
    /// Labels of the pull secrets that made it into `keyring`, in order (the node's docker config
    /// not included): two pods with equal lists hold equal credentials, so the sweeper resolves a
    /// tag once for both.
    public var pullSecrets: [String]

    public init(keyring: Keyring, checked: [String] = [], problems: [String] = [], pullSecrets: [String] = []) {
        self.keyring = keyring
        self.checked = checked
        self.problems = problems
        self.pullSecrets = pullSecrets
    }

    /// "checked imagePullSecret a/b, ServiceAccount a/default, docker config; imagePullSecret a/x not found"
    public var summary: String {
        var text = checked.isEmpty ? "no credentials configured" : "checked " + checked.joined(separator: ", ")
        if !problems.isEmpty { text += "; " + problems.joined(separator: "; ") }
        return text
    }
}
