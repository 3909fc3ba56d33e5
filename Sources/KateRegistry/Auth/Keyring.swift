/// Ordered credential sources (pod imagePullSecrets, the ServiceAccount's, the mounted docker
/// config), each labelled so an error can say which were tried.
public struct Keyring: Sendable {
    public struct Source: Sendable {
        public let label: String
        public let config: DockerConfig
        /// `config.entries` parsed once (nil where an entry's key is unusable): the webhook asks
        /// for credentials for every image of every review.
        let keys: [KeyringKey?]

        init(label: String, config: DockerConfig) {
            self.label = label
            self.config = config
            self.keys = config.entries.map { KeyringKey($0.server) }
        }
    }

    public let sources: [Source]

    public static let empty = Keyring(resolved: [])

    public init(sources: [(label: String, config: DockerConfig)]) {
        self.sources = sources.map { Source(label: $0.label, config: $0.config) }
    }

    private init(resolved sources: [Source]) { self.sources = sources }

    public func appending(_ other: Keyring) -> Keyring {
        Keyring(resolved: sources + other.sources)
    }

    /// The labels of all sources, for "checked …" in error messages.
    public var labels: [String] { sources.map(\.label) }

    /// Credentials that apply to `repository` on `registry`, most specific key first; equally
    /// specific keys keep source order (a pod's own secret before the mounted config).
    public func credentials(registry: String, repository: String) -> [Credential] {
        guard sources.contains(where: { !$0.config.entries.isEmpty }),
              let image = KeyringKey(registry: registry, repository: repository) else { return [] }
        var matches: [(key: KeyringKey, order: Int, credential: Credential)] = []
        var order = 0
        for source in sources {
            for (entry, key) in zip(source.config.entries, source.keys) {
                defer { order += 1 }
                guard let key, key.matches(image) else { continue }
                matches.append((key, order, Credential(source: source.label, entry: entry)))
            }
        }
        matches.sort { a, b in
            a.key.specificity != b.key.specificity ? a.key.specificity > b.key.specificity : a.order < b.order
        }
        // The same secret mounted twice should be tried once.
        var seen = Set<String>()
        return matches.map(\.credential).filter { seen.insert($0.identity).inserted }
    }
}

/// One credential to try, with where it came from.
public struct Credential: Sendable, Equatable {
    /// `imagePullSecret team-a/regcred`.
    public let source: String
    /// The `auths` key it came from.
    public let server: String
    public let username: String?
    public let password: String?
    public let identityToken: String?
    public let registryToken: String?

    init(source: String, entry: DockerConfig.Entry) {
        self.source = source
        self.server = entry.server
        self.username = entry.username
        self.password = entry.password
        self.identityToken = entry.identityToken
        self.registryToken = entry.registryToken
    }

    /// A stable identity for cache keys: a hash of the secret material, never the material itself,
    /// so that two pods holding the same credential share cache entries and tokens, and two
    /// different credentials never do.
    public var identity: String {
        let material = [server, username ?? "", password ?? "", identityToken ?? "", registryToken ?? ""].joined(separator: "\u{0}")
        return "cred:" + String(Digest.sha256Hex(Array(material.utf8)).prefix(32))
    }

    /// "imagePullSecret team-a/regcred (ghcr.io)" for error messages.
    public var label: String { "\(source) (\(server))" }
}
