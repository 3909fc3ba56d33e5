/// An image reference parsed exactly as Docker, kubelet and containerd parse it
/// (distribution/reference grammar plus Docker Hub normalisation), keeping the user's spelling.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// Exactly as written by the user.
    public let original: String
    /// `docker.io`, `ghcr.io`, `localhost:5000`, `[::1]:5000`.
    public let registry: String
    /// `library/nginx`: the path the registry API uses.
    public let repository: String
    /// As written; nil if absent.
    public let tag: String?
    /// `sha256:<64 hex>` if present.
    public let digest: String?

    public static let dockerHub = "docker.io"

    /// Hashes the spelling only: the other fields are parsed from it, so equal values still hash
    /// equally, and the admission path keys several dictionaries per review by reference.
    public func hash(into hasher: inout Hasher) { hasher.combine(original) }

    /// A tag with a digest (`nginx:1.27@sha256:…`) is already pinned: the runtime pulls the digest.
    public var isPinned: Bool { digest != nil }
    /// The tag the registry is asked about: Docker's default is `latest`.
    public var trackedTag: String { tag ?? "latest" }
    /// `docker.io/library/nginx`.
    public var canonicalName: String { "\(registry)/\(repository)" }
    public var isDockerHub: Bool { registry == Self.dockerHub }

    /// The user's spelling with any old digest removed, then `@digest`: the webhook writes back
    /// `nginx:1.27@sha256:…`, never the expanded `docker.io/library/nginx:1.27@…`.
    public func pinned(to digest: String) -> String {
        // Over UTF-8, not Characters: this runs for every pinned container of every review.
        let base = original.utf8.firstIndex(of: UInt8(ascii: "@")).map { String(original[..<$0]) } ?? original
        return base + "@" + digest
    }

    /// The canonical form with tag and digest, for logs.
    public var description: String {
        var s = canonicalName
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest }
        return s
    }

    /// The same repository at another tag (used by tests and the sweeper's "current tag" lookups).
    public func withTag(_ newTag: String) -> ImageReference {
        ImageReference(original: canonicalName + ":" + newTag, registry: registry, repository: repository, tag: newTag, digest: nil)
    }

    init(original: String, registry: String, repository: String, tag: String?, digest: String?) {
        self.original = original
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses `[domain[:port]/]path[:tag][@digest]`.
    /// - Throws: `ImageReferenceError` naming what is wrong.
    public static func parse(_ string: String) throws -> ImageReference {
        var parser = ReferenceParser(input: string)
        return try parser.parse()
    }
}
