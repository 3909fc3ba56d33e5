import Synchronization

/// Ordered credential sources (pod imagePullSecrets, the ServiceAccount's, the mounted docker
/// config), each labelled so an error can say which were tried.
///
/// Everything that depends only on the config is done once, when the keyring is built: each
/// `auths` key is parsed into a `KeyringKey` and each credential's identity hashed. Asking for an
/// image's credentials (every image of every review) then only compares bytes.
public struct Keyring: Sendable {
    public struct Source: Sendable {
        public let label: String
        public let config: DockerConfig
        /// The usable entries of `config`, each with its parsed key and its credential.
        let candidates: [Candidate]

        init(label: String, config: DockerConfig) {
            self.label = label
            self.config = config
            candidates = config.entries.compactMap { entry in
                KeyringKey(entry.server).map { Candidate(key: $0, credential: Credential(source: label, entry: entry)) }
            }
        }
    }

    struct Candidate: Sendable {
        let key: KeyringKey
        let credential: Credential
    }

    public let sources: [Source]
    /// Whether any source has a usable entry: the common anonymous case answers at once.
    private let hasCandidates: Bool

    public static let empty = Keyring(resolved: [])

    public init(sources: [(label: String, config: DockerConfig)]) {
        self.init(resolved: sources.map { Source(label: $0.label, config: $0.config) })
    }

    private init(resolved sources: [Source]) {
        self.sources = sources
        hasCandidates = sources.contains { !$0.candidates.isEmpty }
    }

    /// This keyring's sources, then `other`'s (already parsed: nothing is parsed or hashed again).
    public func appending(_ other: Keyring) -> Keyring {
        Keyring(resolved: sources + other.sources)
    }

    /// The labels of all sources, for "checked …" in error messages.
    public var labels: [String] { sources.map(\.label) }

    /// Credentials that apply to `repository` on `registry`, most specific key first; equally
    /// specific keys keep source order (a pod's own secret before the mounted config); the same
    /// credential (same identity) is listed once.
    public func credentials(registry: String, repository: String) -> [Credential] {
        guard hasCandidates else { return [] }
        return ImageLocation.with(registry: registry, repository: repository) { image in
            // One match is the common case: no list to build or sort for it.
            var first: Candidate?
            var matches: [Candidate] = []
            for source in sources {
                for candidate in source.candidates where candidate.key.matches(image) {
                    if first == nil {
                        first = candidate
                    } else {
                        if matches.isEmpty, let first { matches.append(first) }
                        matches.append(candidate)
                    }
                }
            }
            guard !matches.isEmpty else { return first.map { [$0.credential] } ?? [] }
            // A stable sort: source order is kept among equally specific keys.
            let ordered = matches.enumerated().sorted { a, b in
                a.element.key.specificity != b.element.key.specificity
                    ? a.element.key.specificity > b.element.key.specificity : a.offset < b.offset
            }
            // The same secret mounted twice is tried once: its most specific, first occurrence.
            var result: [Credential] = []
            result.reserveCapacity(ordered.count)
            for (_, candidate) in ordered where !result.contains(where: { $0.identity == candidate.credential.identity }) {
                result.append(candidate.credential)
            }
            return result
        } ?? []
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
    /// A stable identity for cache keys: a hash of the secret material, never the material itself,
    /// so that two pods holding the same credential share cache entries and tokens, and two
    /// different credentials never do. Computed once here: every cache probe reads it.
    public let identity: String

    init(source: String, entry: DockerConfig.Entry) {
        self.source = source
        self.server = entry.server
        self.username = entry.username
        self.password = entry.password
        self.identityToken = entry.identityToken
        self.registryToken = entry.registryToken
        KeyringInstrumentation.current?.countIdentity()
        let material = [entry.server, entry.username ?? "", entry.password ?? "", entry.identityToken ?? "", entry.registryToken ?? ""]
            .joined(separator: "\u{0}")
        identity = "cred:" + String(Digest.sha256Hex(Array(material.utf8)).prefix(32))
    }

    /// "imagePullSecret team-a/regcred (ghcr.io)" for error messages.
    public var label: String { "\(source) (\(server))" }
}

/// Counts the keyring's one-time work (parsing an `auths` key, hashing a credential's identity)
/// for the task that installs it, so a test can show that a cache hit does neither. Task-local:
/// tests running in parallel do not see each other's counts, and outside a test the check is one
/// task-local read on the paths that build a keyring, never on a lookup.
package final class KeyringInstrumentation: Sendable {
    @TaskLocal package static var current: KeyringInstrumentation?

    private let counts = Mutex((keyParses: 0, identities: 0))

    package init() {}

    package var keyParses: Int { counts.withLock { $0.keyParses } }
    package var identityComputations: Int { counts.withLock { $0.identities } }

    func countKeyParse() { counts.withLock { $0.keyParses += 1 } }
    func countIdentity() { counts.withLock { $0.identities += 1 } }
}
